"""Governance pages."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from governance import checkpoints, gate, selectors, services, webhooks
from governance.filters import AuditEventFilter
from governance.forms import (
    BreakGlassForm,
    CommitteeForm,
    MemberForm,
    PolicyForm,
    SubmitForm,
    VoteForm,
    WebhookForm,
)
from governance.models import ApprovalPolicy, Notification
from registry import permissions
from registry import selectors as registry_selectors
from registry.choices import Stage
from registry.exceptions import DomainError
from registry.pagination import CappedPaginator
from registry.permissions import Action

User = get_user_model()


def audit_log(request):
    """The auditor's event stream: filters and search (htmx swaps the results), exports of the same
    selection, and the last verification of the chain."""
    filterset = AuditEventFilter(request.GET, queryset=selectors.audit_events(user=request.user))
    page = CappedPaginator(filterset.qs, 50).get_page(request.GET.get("page"))
    _name_tokens(page, request.user)
    query = request.GET.copy()
    query.pop("page", None)
    partial = bool(request.headers.get("HX-Request"))
    context = {
        "filter": filterset,
        "page": page,
        "query": query.urlencode(),
        "filtered": any(v for k, v in request.GET.items() if k != "page"),
        "verification_started": not partial and checkpoints.verification_start_if_due(),
        "verification": checkpoints.latest_verification(),
        "nav_section": "audit",
    }
    template = "governance/_audit_results.html" if partial else "governance/audit_log.html"
    return render(request, template, context)


@require_POST
def audit_verify(request):
    """*Verify now* on the audit page (auditors and administrators; at most once a minute; recorded)."""
    try:
        services.audit_verification_request(actor=request.user)
    except DomainError as exc:
        messages.warning(request, exc.message)
    else:
        messages.success(request, "Verification started: its result appears below when it finishes.")
    return redirect("governance:audit-log")


def records_export(request, kind):
    """Stream the inventory, the risk register or approval records as CSV or JSON (the export is recorded)."""
    from governance.api.exports import export_response

    return export_response(request.user, kind, request.GET.get("output", "csv"))


def _name_tokens(page, user) -> None:
    """Flag, per event on the page, whether the user may see the prefix of the API token that acted."""
    for event in page.object_list:
        event.token_shown = permissions.can_see_token_prefix(user, token_owner_id=event.actor_id)


def audit_export(request):
    """Stream the selection shown on the audit page as CSV or JSON Lines (the export is recorded)."""
    from governance.api.audit import export_response

    return export_response(request.user, request.GET)


def model_history(request, name):
    model = registry_selectors.model_get(user=request.user, name=name)
    page = Paginator(selectors.model_history(user=request.user, model=model), 50).get_page(request.GET.get("page"))
    _name_tokens(page, request.user)
    return render(request, "governance/model_history.html", {"model": model, "page": page, "tab": "history"})


def version_history(request, name, version):
    model = registry_selectors.model_get(user=request.user, name=name)
    found = registry_selectors.version_get(user=request.user, model=model, version=version)
    events = selectors.version_history(user=request.user, version=found)
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    _name_tokens(page, request.user)
    context = {"model": model, "version": found, "page": page, "tab": "history"}
    return render(request, "governance/version_history.html", context)


# --- Approvals ------------------------------------------------------------------------------------------------


def reviews(request):
    tab = request.GET.get("tab", "review")
    if tab == "mine":
        rows = selectors.requests_submitted(user=request.user)
    else:
        rows = selectors.requests_to_review(user=request.user)
    page = Paginator(rows, 25).get_page(request.GET.get("page"))
    return render(request, "governance/reviews.html", {"page": page, "tab": tab, "nav_section": "reviews"})


def _vote_context(request, approval, form=None):
    tallies = services.request_tallies(approval)
    flagged = gate.flagged_artifacts(approval.version)
    conflicted = services.conflicted_user_ids(approval)
    required = {c.pk for c, _ in tallies}
    my_committees, refusals = [], []
    for committee, _ in tallies:
        members = {m.user_id for m in committee.memberships.all()}
        if request.user.pk not in members:
            continue
        reason = permissions.vote_refusal(
            request.user,
            request=approval,
            committee=committee,
            conflicted_ids=conflicted,
            member_ids=members,
            required_ids=required,
        )
        if reason:
            refusals.append((committee, reason))
        elif not approval.votes.filter(committee=committee, voter=request.user, round=approval.round).exists():
            my_committees.append(committee)
    forms_by_committee = [
        (
            committee,
            form
            if form is not None and form.data.get("committee") == str(committee.pk)
            else VoteForm(committees=[committee], flagged=bool(flagged), initial={"committee": committee.pk}),
        )
        for committee in my_committees
    ]
    votes = list(approval.votes.select_related("voter", "committee").order_by("-round", "cast_at"))
    plan_problems = gate.request_problems(approval)
    production, metric_rows = selectors.metrics_compared(user=request.user, version=approval.version)
    return {
        "approval": approval,
        "version": approval.version,
        "model": approval.version.model,
        "assessment": selectors.model_current_assessment(approval.version.model),
        "awaiting": services.request_awaiting_votes(approval) if approval.is_open else [],
        "production": production,
        "metric_rows": metric_rows,
        "tallies": tallies,
        "flagged": flagged,
        "vote_forms": forms_by_committee,
        "refusals": refusals,
        "votes": votes,
        "problems": plan_problems,
        "blocked": bool(plan_problems) and approval.is_withdrawable,
        "facts_changed": gate.facts_changes(approval),
        "can_submit": permissions.can(request.user, permissions.Action.SUBMIT, approval.version),
        "nav_section": "reviews",
    }


def request_detail(request, request_id):
    approval = selectors.request_get(user=request.user, request_id=request_id)
    return render(request, "governance/request_detail.html", _vote_context(request, approval))


@require_POST
def request_vote(request, request_id):
    approval = selectors.request_get(user=request.user, request_id=request_id)
    committees = list(approval.committees.all())
    form = VoteForm(request.POST, committees=committees, flagged=bool(gate.flagged_artifacts(approval.version)))
    status = 400
    if form.is_valid():
        try:
            services.vote_cast(
                actor=request.user,
                request=approval,
                committee=form.cleaned_data["committee"],
                decision=form.cleaned_data["decision"],
                comment=form.cleaned_data["comment"],
                accept_flagged=form.cleaned_data.get("accept_flagged", False),
            )
        except DomainError as exc:
            form.apply_error(exc)
        except PermissionDenied as exc:
            messages.error(request, str(exc))
            status = 403
        else:
            messages.success(request, "Your vote is recorded.")
            return redirect(approval)
    approval = selectors.request_get(user=request.user, request_id=request_id)
    return render(request, "governance/request_detail.html", _vote_context(request, approval, form=form), status=status)


@require_POST
def request_submit(request, name, version):
    model = registry_selectors.model_get(user=request.user, name=name)
    found = registry_selectors.version_get(user=request.user, model=model, version=version, action=Action.SUBMIT)
    form = SubmitForm(request.POST)
    if form.is_valid():
        try:
            approval = services.approval_request_submit(actor=request.user, version=found, **form.cleaned_data)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, "Submitted. The committees have been notified.")
            return redirect(approval)
    else:
        messages.error(request, "Say why this version should move (justification).")
    return redirect(found)


@require_POST
def request_withdraw(request, request_id):
    approval = selectors.request_get(user=request.user, request_id=request_id)
    try:
        services.approval_request_withdraw(actor=request.user, request=approval)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Request withdrawn.")
    return redirect(approval)


@require_POST
def request_resubmit(request, request_id):
    approval = selectors.request_get(user=request.user, request_id=request_id)
    try:
        services.approval_request_resubmit(
            actor=request.user, request=approval, justification=request.POST.get("justification", "")
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Resubmitted as round {approval.round + 1}.")
    return redirect(approval)


@require_POST
def model_rollback(request, name):
    model = registry_selectors.model_get(user=request.user, name=name, action=Action.CHANGE)
    try:
        restored = services.model_rollback(
            actor=request.user, model=model, justification=request.POST.get("justification", "")
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Rolled back: v{restored.version} is in production again.")
    return redirect(model)


@require_POST
def version_promote(request, name, version):
    """*Promote to production*: an approved version takes its approved route (through staging when needed)
    in one step, through the one transition service."""
    model = registry_selectors.model_get(user=request.user, name=name)
    found = registry_selectors.version_get(user=request.user, model=model, version=version, action=Action.CHANGE)
    try:
        services.version_transition(
            actor=request.user,
            version=found,
            stage=Stage.PRODUCTION,
            justification=request.POST.get("justification", "")[:5000],
            through_staging=True,
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"v{found.version} moved to production.")
    return redirect(found)


@require_POST
def version_break_glass(request, name, version):
    model = registry_selectors.model_get(user=request.user, name=name)
    found = registry_selectors.version_get(user=request.user, model=model, version=version)
    if not permissions.can_break_glass(request.user):
        raise PermissionDenied("Only administrators can use break-glass.")
    form = BreakGlassForm(request.POST)
    if form.is_valid():
        try:
            services.version_break_glass(actor=request.user, version=found, **form.cleaned_data)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.warning(request, "Break-glass used: the change is flagged in the audit trail and dashboard.")
    else:
        messages.error(request, "Break-glass needs a stage and a written justification.")
    return redirect(found)


def committees(request):
    can_manage = permissions.can_manage_committees(request.user)
    form = CommitteeForm(request.POST or None) if can_manage else None
    if request.method == "POST":
        permissions.require_committee_management(request.user)
        if form.is_valid():
            try:
                committee = services.committee_create(actor=request.user, **form.cleaned_data)
            except DomainError as exc:
                form.apply_error(exc)
            else:
                messages.success(request, f"Created {committee.name}. Add its members next.")
                return redirect("governance:committee-detail", slug=committee.slug)
    context = {
        "committees": selectors.committees(),
        "form": form,
        "can_manage": can_manage,
        "nav_section": "governance",
    }
    return render(request, "governance/committees.html", context, status=400 if form and form.errors else 200)


def committee_detail(request, slug):
    committee = get_object_or_404(selectors.committees(), slug=slug)
    can_manage = permissions.can_manage_committees(request.user)
    form = member_form = None
    if can_manage:
        form = CommitteeForm(request.POST if request.POST.get("form") == "committee" else None, instance=committee)
        member_form = MemberForm(request.POST if request.POST.get("form") == "member" else None)
    if request.method == "POST":
        permissions.require_committee_management(request.user)
        try:
            if request.POST.get("form") == "committee" and form.is_valid():
                data = {k: form.cleaned_data[k] for k in form.changed_data}
                services.committee_update(actor=request.user, committee=committee, data=data)
                messages.success(request, "Saved.")
                return redirect("governance:committee-detail", slug=committee.slug)
            if request.POST.get("form") == "member" and member_form.is_valid():
                services.committee_member_set(
                    actor=request.user,
                    committee=committee,
                    user=member_form.cleaned_data["username"],
                    role=member_form.cleaned_data["role"],
                )
                messages.success(request, "Member added.")
                return redirect("governance:committee-detail", slug=committee.slug)
            if request.POST.get("form") == "remove":
                user = get_object_or_404(User, pk=request.POST.get("user_id"))
                services.committee_member_remove(actor=request.user, committee=committee, user=user)
                messages.success(request, f"Removed {user.get_username()}.")
                return redirect("governance:committee-detail", slug=committee.slug)
        except DomainError as exc:
            (member_form if request.POST.get("form") == "member" else form).apply_error(exc)
    context = {
        "committee": committee,
        "form": form,
        "member_form": member_form,
        "can_manage": can_manage,
        "nav_section": "governance",
    }
    return render(request, "governance/committee_detail.html", context)


def policies(request):
    can_manage = permissions.can_manage_committees(request.user)
    rows = list(selectors.policies())
    editing = None
    if request.method == "POST":
        permissions.require_committee_management(request.user)
        policy = get_object_or_404(ApprovalPolicy, pk=request.POST.get("policy_id"))
        editing = PolicyForm(request.POST, instance=policy, prefix=f"p{policy.pk}")
        if editing.is_valid():
            services.policy_update(actor=request.user, policy=policy, data=editing.cleaned_data)
            messages.success(request, f"Policy {policy} saved.")
            return redirect("governance:policies")
    forms_by_row = []
    for policy in rows:
        form = (
            editing
            if editing is not None and editing.instance.pk == policy.pk
            else (PolicyForm(instance=policy, prefix=f"p{policy.pk}") if can_manage else None)
        )
        forms_by_row.append((policy, form))
    return render(
        request,
        "governance/policies.html",
        {"rows": forms_by_row, "can_manage": can_manage, "nav_section": "governance"},
    )


def inbox(request):
    if request.method == "POST":
        Notification.objects.filter(user=request.user, read_at__isnull=True).update(read_at=timezone.now())
        return redirect("governance:inbox")
    page = Paginator(selectors.notifications(user=request.user), 25).get_page(request.GET.get("page"))
    return render(request, "governance/inbox.html", {"page": page, "nav_section": "inbox"})


DASHBOARD_ROWS = 10


def dashboard(request):
    """The first rows of each list, each with its total and a link to the full list."""
    lists = {
        "open_requests": selectors.requests_to_review(user=request.user),
        "my_requests": selectors.requests_submitted(user=request.user),
        "break_glass": selectors.break_glass_events(user=request.user),
        "production": selectors.models_in_production(user=request.user),
    }
    context = {name: rows[:DASHBOARD_ROWS] for name, rows in lists.items()}
    context.update({f"{name}_count": rows.count() for name, rows in lists.items()})
    context.update({"can_read_audit": permissions.can_read_audit_trail(request.user), "nav_section": "governance"})
    return render(request, "governance/dashboard.html", context)


def version_approvals(request, name, version):
    """The version page's approval panel (loaded by htmx): what each move requires, what is missing, the
    requests so far, and the forms to submit, promote or (administrators) break glass."""
    model = registry_selectors.model_get(user=request.user, name=name)
    found = registry_selectors.version_get(user=request.user, model=model, version=version)
    routes = []
    for stage in ("staging", "production"):
        plan = gate.route(found, stage)
        problems = plan.problems + (gate.precondition_problems(found, stage, plan.policy) if plan.allowed else [])
        routes.append(
            {"stage": stage, "plan": plan, "problems": problems, "approval": gate.valid_approval(found, stage)}
        )
    requests = list(selectors.version_requests(user=request.user, version=found))
    open_stages = {r.target_stage for r in requests if r.is_pending}
    context = {
        "model": model,
        "version": found,
        "routes": routes,
        "requests": requests,
        "open_stages": open_stages,
        "can_submit": permissions.can(request.user, Action.SUBMIT, found),
        "can_change": permissions.can(request.user, Action.CHANGE, found),
        "can_break_glass": permissions.can_break_glass(request.user),
        "submit_form": SubmitForm(),
        "break_glass_form": BreakGlassForm(),
    }
    return render(request, "governance/_version_approvals.html", context)


def model_production(request, name):
    """The model page's production panel (loaded by htmx): current version, history, rollback."""
    model = registry_selectors.model_get(user=request.user, name=name)
    context = {
        "model": model,
        "history": selectors.production_history(user=request.user, model=model)[-10:][::-1],
        "can_change": permissions.can(request.user, Action.CHANGE, model),
        "rollback_to": selectors.rollback_target(user=request.user, model=model),
    }
    return render(request, "governance/_model_production.html", context)


# --- Webhooks -----------------------------------------------------------------------------------------------


def _webhook_data(form: WebhookForm) -> dict:
    return {
        "name": form.cleaned_data["name"],
        "url": form.cleaned_data["url"],
        "event_types": form.cleaned_data["event_types"],
        "model": form.cleaned_data["model"],
        "active": form.cleaned_data["active"],
    }


def webhooks_page(request):
    """The user's webhook subscriptions with their last delivery, and the form to add one."""
    permissions.require_manage_webhooks(request.user)
    can_write = permissions.can_manage_webhooks(request.user, write=True)
    form = WebhookForm(request.POST or None, user=request.user) if can_write else None
    if request.method == "POST":
        permissions.require_manage_webhooks(request.user, write=True)
        if form.is_valid():
            try:
                subscription = webhooks.webhook_subscription_create(actor=request.user, **_webhook_data(form))
            except DomainError as exc:
                form.apply_error(exc)
            else:
                messages.success(request, f"Created {subscription.name}. Copy its signing secret below.")
                return redirect(subscription.get_absolute_url())
    page = Paginator(selectors.webhooks(user=request.user), 25).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "form": form,
        "is_admin": permissions.is_administrator(request.user),
        "nav_section": "webhooks",
    }
    return render(request, "governance/webhooks.html", context, status=400 if form and form.errors else 200)


def _deliveries_context(request, subscription) -> dict:
    page = Paginator(selectors.webhook_deliveries(subscription=subscription), 25).get_page(request.GET.get("page"))
    return {
        "subscription": subscription,
        "deliveries": page,
        "polling": any(d.status == "pending" for d in page),
    }


def webhook_detail(request, pk):
    """A subscription: its settings (editable), its signing secret for the owner, the delivery log."""
    subscription = webhooks.webhook_get(user=request.user, pk=pk)
    if request.headers.get("HX-Request") and request.method == "GET":
        return render(request, "governance/_webhook_deliveries.html", _deliveries_context(request, subscription))
    can_write = permissions.can_manage_webhooks(request.user, write=True)
    form = None
    if can_write:
        form = WebhookForm(request.POST or None, user=request.user, initial=WebhookForm.initial_for(subscription))
    if request.method == "POST":
        permissions.require_manage_webhooks(request.user, write=True)
        if form.is_valid():
            try:
                webhooks.webhook_subscription_update(
                    actor=request.user, subscription=subscription, data=_webhook_data(form)
                )
            except DomainError as exc:
                form.apply_error(exc)
            else:
                messages.success(request, "Saved.")
                return redirect(subscription.get_absolute_url())
    context = {
        **_deliveries_context(request, subscription),
        "form": form,
        "can_write": can_write,
        "show_secret": permissions.can_read_webhook_secret(request.user, subscription),
        "nav_section": "webhooks",
    }
    return render(request, "governance/webhook_detail.html", context, status=400 if form and form.errors else 200)


@require_POST
def webhook_delete(request, pk):
    subscription = webhooks.webhook_get(user=request.user, pk=pk)
    webhooks.webhook_subscription_delete(actor=request.user, subscription=subscription)
    messages.success(request, f"Deleted {subscription.name} and its delivery log.")
    return redirect("governance:webhooks")


@require_POST
def webhook_test(request, pk):
    """Send a `ping`. With htmx the refreshed delivery log comes back (it polls until the ping is done)."""
    subscription = webhooks.webhook_get(user=request.user, pk=pk)
    webhooks.webhook_subscription_test(actor=request.user, subscription=subscription)
    if request.headers.get("HX-Request"):
        return render(request, "governance/_webhook_deliveries.html", _deliveries_context(request, subscription))
    messages.success(request, "Test ping queued: its delivery appears in the log below.")
    return redirect(subscription.get_absolute_url())
