"""Governance reads, restricted to what the user may see."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from governance.audit_actions import AuditAction
from governance.choices import OPEN_RISK_STATUSES, ApprovalStatus, AssessmentStatus
from governance.models import (
    ApprovalPolicy,
    ApprovalRequest,
    Assessment,
    AssessmentTemplate,
    AuditEvent,
    Committee,
    Notification,
    Risk,
    WebhookDelivery,
    WebhookSubscription,
)
from registry import permissions
from registry.choices import Stage
from registry.models import RegisteredModel
from registry.permissions import Action


def audit_events(*, user) -> QuerySet:
    """The whole trail, newest first: auditors and administrators only."""
    if not permissions.can_read_audit_trail(user):
        raise PermissionDenied("The audit trail is open to auditors and administrators.")
    return AuditEvent.objects.order_by("-seq")


def model_history(*, user, model) -> QuerySet:
    """The events of one model and everything that belongs to it, for anyone who may view the model."""
    permissions.require(user, permissions.Action.VIEW, model)
    return AuditEvent.objects.filter(model_id=model.pk).order_by("-seq")


def version_history(*, user, version) -> QuerySet:
    """The events whose target is the version or one of its artifacts, for anyone who may view the version."""
    permissions.require(user, permissions.Action.VIEW, version)
    artifact_ids = [str(pk) for pk in version.artifacts.values_list("pk", flat=True)]
    return AuditEvent.objects.filter(
        Q(target_type="version", target_id=str(version.pk)) | Q(target_type="artifact", target_id__in=artifact_ids)
    ).order_by("-seq")


# --- Approvals ----------------------------------------------------------------------------------------------


def _requests():
    return ApprovalRequest.objects.select_related("version__model", "submitted_by").prefetch_related("committees")


def requests_to_review(*, user) -> QuerySet:
    """Open requests routed to a committee the user sits on (whether or not they may vote on each)."""
    return (
        permissions.restrict(_requests(), user, Action.VIEW)
        .filter(status=ApprovalStatus.OPEN, committees__memberships__user=user)
        .distinct()
        .order_by("-submitted_at")
    )


def requests_awaiting_vote_count(*, user) -> int:
    """How many open requests routed to the user's committees they have not voted on (navigation badge)."""
    if not getattr(user, "is_authenticated", False):
        return 0
    return (
        ApprovalRequest.objects.filter(status=ApprovalStatus.OPEN, committees__memberships__user=user)
        .exclude(votes__voter=user, votes__round=F("round"))
        .exclude(submitted_by=user)
        .values("pk")
        .distinct()
        .count()
    )


def requests_submitted(*, user) -> QuerySet:
    return permissions.restrict(_requests(), user, Action.VIEW).filter(submitted_by=user).order_by("-submitted_at")


def request_get(*, user, request_id) -> ApprovalRequest:
    found = permissions.restrict(_requests(), user, Action.VIEW).filter(pk=request_id).first()
    if found is None:
        raise Http404("No such approval request, or you do not have access to it.")
    return found


def version_requests(*, user, version) -> QuerySet:
    permissions.require(user, Action.VIEW, version)
    return _requests().filter(version=version).order_by("-submitted_at")


def committees() -> QuerySet:
    return Committee.objects.prefetch_related("memberships__user").order_by("name")


def policies() -> QuerySet:
    return ApprovalPolicy.objects.prefetch_related("committees").order_by("target_stage", "risk_tier")


def unread_notifications_count(*, user) -> int:
    if not getattr(user, "is_authenticated", False):
        return 0
    return Notification.objects.filter(user=user, read_at__isnull=True, done_at__isnull=True).count()


def notifications(*, user) -> QuerySet:
    return Notification.objects.filter(user=user).order_by("-created_at")


def break_glass_events(*, user) -> QuerySet:
    """Break-glass uses, for the dashboard: the whole trail for auditors and administrators, else the
    user's visible models only."""
    events = AuditEvent.objects.filter(action=AuditAction.VERSION_BREAK_GLASS).order_by("-seq")
    if permissions.can_read_audit_trail(user):
        return events
    visible = permissions.restrict(RegisteredModel.objects.all(), user, Action.VIEW).values("pk")
    return events.filter(model_id__in=visible)


def production_history(*, user, model) -> list[dict]:
    """What was in production when, from the audit trail: every move into or out of production."""
    permissions.require(user, Action.VIEW, model)
    rows = []
    for event in AuditEvent.objects.filter(model_id=model.pk, action=AuditAction.VERSION_STAGE_CHANGED).order_by("seq"):
        stage = event.changes.get("stage", {})
        if Stage.PRODUCTION in (stage.get("before"), stage.get("after")):
            rows.append(
                {
                    "when": event.timestamp,
                    "version": event.target_label,
                    "entered": stage.get("after") == Stage.PRODUCTION,
                    "by": event.actor_label,
                    "authorised_by": event.changes.get("authorised_by"),
                    "reason": event.changes.get("reason", ""),
                    "seq": event.seq,
                }
            )
    return rows


def rollback_target(*, user, model, current=None) -> ApprovalRequest | None:
    """The promotion a rollback would return to: the latest production approval used for another version
    than the one in production now (`current`, looked up if not given). None: nothing to roll back to."""
    permissions.require(user, Action.VIEW, model)
    if current is None:
        current = model.versions.filter(stage=Stage.PRODUCTION).order_by("-stage_changed_at").first()
    if current is None:
        return None
    return (
        ApprovalRequest.objects.filter(
            version__model=model, target_stage=Stage.PRODUCTION, status=ApprovalStatus.PROMOTED
        )
        .exclude(version=current)
        .select_related("version")
        .order_by("-promoted_at")
        .first()
    )


def metrics_compared(*, user, version) -> tuple[object | None, list[dict]]:
    """The version's metrics next to those of its model's production version (when another version is in
    production): `(production version or None, rows)`, each row a metric name, dataset and split with both
    values and the difference, matched on all three."""
    permissions.require(user, Action.VIEW, version)
    model = version.model
    baseline = None
    if model.production_version and model.production_version != version.version:
        baseline = model.versions.prefetch_related("metrics").filter(version=model.production_version).first()
    current = {(m.name, m.dataset, m.split): m.value for m in baseline.metrics.all()} if baseline else {}
    rows = []
    for metric in version.metrics.all():
        before = current.get((metric.name, metric.dataset, metric.split))
        rows.append(
            {
                "name": metric.name,
                "dataset": metric.dataset,
                "split": metric.split,
                "value": metric.value,
                "production": before,
                "difference": None if before is None else metric.value - before,
            }
        )
    return baseline, rows


def models_in_production(*, user) -> QuerySet:
    return (
        permissions.restrict(RegisteredModel.objects.all(), user, Action.VIEW)
        .filter(production_version__isnull=False)
        .order_by("name")
    )


# --- Risk assessments ----------------------------------------------------------------------------------

# Assessments still being worked on: a model has at most one of these per template.
OPEN_ASSESSMENT_STATUSES = (AssessmentStatus.DRAFT, AssessmentStatus.SUBMITTED, AssessmentStatus.RETURNED)


def template_latest(*, key: str) -> AssessmentTemplate | None:
    return AssessmentTemplate.objects.filter(key=key).order_by("-version").first()


def template_list(*, user, all_versions: bool = False) -> QuerySet:
    """Questionnaire templates (latest version of each unless `all_versions`), with how many assessments use
    each. Templates are not secret: every signed-in user may read them."""
    if not getattr(user, "is_authenticated", False):
        return AssessmentTemplate.objects.none()
    queryset = AssessmentTemplate.objects.annotate(used_by=Count("assessments")).order_by("key", "-version")
    if not all_versions:
        newest = AssessmentTemplate.objects.filter(key=OuterRef("key")).order_by("-version").values("version")[:1]
        queryset = queryset.filter(version=Subquery(newest))
    return queryset


def template_get(*, user, pk: int) -> AssessmentTemplate:
    template = template_list(user=user, all_versions=True).filter(pk=pk).first()
    if template is None:
        raise Http404("No such assessment template.")
    return template


def template_versions(*, key: str) -> QuerySet:
    return AssessmentTemplate.objects.filter(key=key).annotate(used_by=Count("assessments")).order_by("-version")


def _assessments() -> QuerySet:
    return Assessment.objects.select_related(
        "model", "model__owner", "model_version", "template", "assessor", "reviewer", "submitted_by"
    )


def assessment_list(*, user, model: RegisteredModel | None = None, statuses: Iterable[str] | None = None) -> QuerySet:
    """Assessments of the models the user may see, newest first; one query whatever the page size."""
    queryset = permissions.restrict(_assessments(), user, permissions.Action.VIEW)
    if model is not None:
        queryset = queryset.filter(model=model)
    if statuses:
        queryset = queryset.filter(status__in=list(statuses))
    return queryset.order_by("-updated_at", "-pk")


def assessment_get(*, user, pk: int | str) -> Assessment:
    """One assessment by id: 404 when it does not exist or its model is hidden from the user."""
    try:
        number = int(pk)
    except (TypeError, ValueError):
        raise Http404("No such assessment.") from None
    assessment = permissions.restrict(_assessments(), user, permissions.Action.VIEW).filter(pk=number).first()
    if assessment is None:
        raise Http404("No such assessment, or you do not have access to its model.")
    return assessment


def assessment_review_queue(*, user) -> QuerySet:
    """Submitted assessments waiting for a risk officer, oldest first. Risk officers only."""
    if not permissions.can_review_assessments(user):
        raise PermissionDenied("The review queue is for risk officers.")
    return assessment_list(user=user, statuses=[AssessmentStatus.SUBMITTED]).order_by("submitted_at", "pk")


def model_current_assessment(model: RegisteredModel, *, today: dt.date | None = None) -> Assessment | None:
    """The model's latest approved, unexpired assessment of a template that classifies a risk tier."""
    today = today or timezone.localdate()
    return (
        Assessment.objects.select_related("template", "reviewer")
        .filter(model=model, status=AssessmentStatus.APPROVED, template__classifies=True, valid_until__gte=today)
        .order_by("-reviewed_at", "-pk")
        .first()
    )


def assessment_gate_check(model: RegisteredModel, *, today: dt.date | None = None) -> tuple[bool, list[str]]:
    """Does `model` have an approved risk assessment that has not expired? For the approval gate.

    A pure read with no user: the caller has already decided who may see the model. Returns `(True, [])`
    when it does; otherwise `(False, problems)`, each problem a sentence saying what is missing and the
    path of the page where it can be fixed. Only templates that classify a tier (the EU AI Act one) count:
    a NIST or ISO checklist alone does not say how risky the model is. One query.
    """
    today = today or timezone.localdate()
    rows = list(
        Assessment.objects.filter(model=model, template__classifies=True)
        .exclude(status=AssessmentStatus.SUPERSEDED)
        .order_by("-updated_at", "-pk")
        .values("pk", "status", "valid_until", "reviewed_at")
    )
    if any(r["status"] == AssessmentStatus.APPROVED and r["valid_until"] >= today for r in rows):
        return True, []
    assessments_url = reverse("governance:model-assessments", kwargs={"name": model.name})

    def first(*statuses):
        return next((r for r in rows if r["status"] in statuses), None)

    def link(row) -> str:
        return reverse("governance:assessment-detail", kwargs={"pk": row["pk"]})

    problems = []
    lapsed = max(
        (r for r in rows if r["status"] in (AssessmentStatus.APPROVED, AssessmentStatus.EXPIRED)),
        key=lambda r: r["valid_until"],
        default=None,
    )
    if lapsed is not None:
        problems.append(
            f"The risk assessment of {model.name} approved on {lapsed['reviewed_at']:%d %b %Y} expired on "
            f"{lapsed['valid_until']:%d %b %Y}: re-assess the model ({assessments_url})."
        )
    pending = first(AssessmentStatus.SUBMITTED)
    open_one = first(AssessmentStatus.DRAFT, AssessmentStatus.RETURNED)
    if pending is not None:
        problems.append(
            f"The risk assessment of {model.name} (#{pending['pk']}) is waiting for a risk officer's approval "
            f"({link(pending)})."
        )
    elif open_one is not None:
        state = "was returned for changes" if open_one["status"] == AssessmentStatus.RETURNED else "is still a draft"
        problems.append(
            f"The risk assessment of {model.name} (#{open_one['pk']}) {state}: complete and submit it "
            f"({link(open_one)})."
        )
    elif lapsed is None:
        problems.append(
            f"{model.name} has no approved risk assessment: complete the EU AI Act risk classification and have a "
            f"risk officer approve it ({assessments_url})."
        )
    return False, problems


def review_flags(model_ids: Iterable[int], *, today: dt.date | None = None) -> dict[int, dict]:
    """For the catalog and model pages: which of these models have a re-review overdue (their assessment
    expired and nothing replaced it) or due soon (valid for fewer than ASSESSMENT_DUE_SOON_DAYS). One query."""
    today = today or timezone.localdate()
    horizon = today + dt.timedelta(days=settings.ASSESSMENT_DUE_SOON_DAYS)
    rows = (
        Assessment.objects.filter(
            model_id__in=list(model_ids),
            template__classifies=True,
            status__in=[AssessmentStatus.APPROVED, AssessmentStatus.EXPIRED],
        )
        .order_by("model_id", "-reviewed_at")
        .values("model_id", "status", "valid_until")
    )
    current: dict[int, dict] = {}
    lapsed: dict[int, dict] = {}
    for row in rows:
        valid = row["status"] == AssessmentStatus.APPROVED and row["valid_until"] >= today
        if valid:
            current.setdefault(row["model_id"], row)
        else:
            lapsed.setdefault(row["model_id"], row)
    flags = {}
    for model_id, row in lapsed.items():
        if model_id not in current:
            flags[model_id] = {"state": "overdue", "valid_until": row["valid_until"]}
    for model_id, row in current.items():
        if row["valid_until"] <= horizon:
            flags[model_id] = {"state": "due_soon", "valid_until": row["valid_until"]}
    return flags


def assessments_to_expire(*, today: dt.date | None = None) -> list[int]:
    today = today or timezone.localdate()
    return list(
        Assessment.objects.filter(status=AssessmentStatus.APPROVED, valid_until__lt=today)
        .order_by("valid_until", "pk")
        .values_list("pk", flat=True)
    )


def assessments_due_soon(*, today: dt.date | None = None) -> list[int]:
    """Approved assessments entering their re-review window that have not been reminded of it yet."""
    today = today or timezone.localdate()
    horizon = today + dt.timedelta(days=settings.ASSESSMENT_DUE_SOON_DAYS)
    return list(
        Assessment.objects.filter(
            status=AssessmentStatus.APPROVED,
            valid_until__gte=today,
            valid_until__lte=horizon,
            due_soon_notified_at__isnull=True,
        )
        .order_by("valid_until", "pk")
        .values_list("pk", flat=True)
    )


# --- Risk register -----------------------------------------------------------------------------------------

RISK_SORTS = {
    "rating": (F("current_rating").desc(), F("due_date").asc(nulls_last=True), "pk"),
    "-rating": (F("current_rating").asc(), F("due_date").asc(nulls_last=True), "pk"),
    "due": (F("due_date").asc(nulls_last=True), F("current_rating").desc(), "pk"),
    "-due": (F("due_date").desc(nulls_last=True), F("current_rating").desc(), "pk"),
    "inherent": (F("inherent_rating").desc(), F("due_date").asc(nulls_last=True), "pk"),
}


def risk_list(
    *,
    user,
    model: RegisteredModel | None = None,
    statuses: Iterable[str] | None = OPEN_RISK_STATUSES,
    sort: str = "rating",
    category: str | None = None,
) -> QuerySet:
    """Risks of the models the user may see. `current_rating` is the residual rating where one was assessed,
    else the inherent one. Sorts: rating (highest first), due (soonest first), their reverses, inherent."""
    queryset = permissions.restrict(
        Risk.objects.select_related("model", "owner", "assessment", "assessment__template"),
        user,
        permissions.Action.VIEW,
    ).annotate(current_rating=Coalesce("residual_rating", "inherent_rating"))
    if model is not None:
        queryset = queryset.filter(model=model)
    if statuses:
        queryset = queryset.filter(status__in=list(statuses))
    if category:
        queryset = queryset.filter(category=category)
    return queryset.order_by(*RISK_SORTS.get(sort, RISK_SORTS["rating"]))


def risk_get(*, user, pk: int | str) -> Risk:
    try:
        number = int(pk)
    except (TypeError, ValueError):
        raise Http404("No such risk.") from None
    risk = risk_list(user=user, statuses=None).filter(pk=number).first()
    if risk is None:
        raise Http404("No such risk, or you do not have access to its model.")
    return risk


def risk_heatmap(risks: QuerySet) -> list[dict]:
    """Counts of risks per (impact, likelihood) cell of the 5x5 matrix, by current rating, rows from impact
    5 down to 1. One aggregate query."""
    counts = {
        (row["impact_now"], row["likelihood_now"]): row["n"]
        for row in risks.order_by()
        .annotate(
            likelihood_now=Coalesce("residual_likelihood", "likelihood"),
            impact_now=Coalesce("residual_impact", "impact"),
        )
        .values("impact_now", "likelihood_now")
        .annotate(n=Count("pk"))
    }
    return [
        {
            "impact": impact,
            "cells": [
                {"likelihood": likelihood, "rating": impact * likelihood, "count": counts.get((impact, likelihood), 0)}
                for likelihood in range(1, 6)
            ],
        }
        for impact in range(5, 0, -1)
    ]


def risk_counts(*, user) -> dict[str, int]:
    """Open risks the user may see, and how many are overdue, for the Risk section's header."""
    queryset = permissions.restrict(Risk.objects.all(), user, permissions.Action.VIEW).filter(
        status__in=OPEN_RISK_STATUSES
    )
    return queryset.aggregate(open=Count("pk"), overdue=Count("pk", filter=Q(due_date__lt=timezone.localdate())))


# --- Webhooks -----------------------------------------------------------------------------------------------


def webhooks(*, user) -> QuerySet:
    """The subscriptions the user manages (all of them for administrators), each annotated with its latest
    delivery's event, status, response code and time: one query."""
    latest = WebhookDelivery.objects.filter(subscription=OuterRef("pk")).order_by("-created_at", "-pk")
    queryset = WebhookSubscription.objects.select_related("model", "created_by").annotate(
        last_status=Subquery(latest.values("status")[:1]),
        last_event=Subquery(latest.values("event")[:1]),
        last_response_code=Subquery(latest.values("response_code")[:1]),
        last_delivery_at=Subquery(latest.values("created_at")[:1]),
    )
    return permissions.restrict_webhooks(queryset, user)


def webhook_deliveries(*, subscription: WebhookSubscription) -> QuerySet:
    """A subscription's delivery log, newest first (the caller has fetched the subscription for the user)."""
    return WebhookDelivery.objects.filter(subscription=subscription).order_by("-created_at", "-pk")


# --- Exports: the inventory, the risk register and approval records -------------------------------------------


def model_inventory(*, user) -> QuerySet:
    """Every model the user may see, by name, with its latest risk assessment's status and validity."""
    latest = Assessment.objects.filter(model=OuterRef("pk")).order_by("-created_at", "-pk")
    return (
        permissions.restrict(RegisteredModel.objects.all(), user, Action.VIEW)
        .annotate(
            assessment_status=Subquery(latest.values("status")[:1]),
            assessment_valid_until=Subquery(latest.values("valid_until")[:1]),
        )
        .order_by("name")
    )


def approval_records(*, user) -> QuerySet:
    """Every approval request on a version the user may see, oldest first, with its votes."""
    return permissions.restrict(ApprovalRequest.objects.all(), user, Action.VIEW).order_by("submitted_at", "pk")
