"""What a newcomer meets after approval (issue 14): production at a glance in the catalog, *Promote to
production* in one step, the reviewers' context on the request page, lists that never hide rows, the audit
page verifying itself, and *Roll back* only when there is something to roll back to."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from governance import services
from governance.models import AuditEvent, AuditVerification, Notification
from registry.choices import Stage
from tests.factories import make_model, make_version

pytestmark = pytest.mark.usefixtures("committees", "artifact_storage")


def _approve(version, reviewers, risk_officer, committees, stage=Stage.PRODUCTION):
    request = services.approval_request_submit(
        actor=version.model.owner, version=version, target_stage=stage, justification="Validated on Q3 holdout."
    )
    for voter, committee in ((reviewers[0], "mrc"), (reviewers[1], "mrc"), (risk_officer, "rnc")):
        services.vote_cast(actor=voter, request=request, committee=committees[committee], decision="approve")
    request.refresh_from_db()
    assert request.status == "approved"
    return request


@pytest.fixture
def live(owner, model, reviewers, risk_officer, committees):
    """credit-scoring v1 in production (alias `champion` on it), v2 registered since, still in development."""
    v1 = make_version(
        owner, model, files=True, training_data=["s3://lake/credit/1"], metrics=[{"name": "auc", "value": 0.81}]
    )
    _approve(v1, reviewers, risk_officer, committees)
    services.version_transition(actor=owner, version=v1, stage=Stage.PRODUCTION, through_staging=True)
    services.alias_set(actor=owner, model=model, name="champion", version=v1)
    v2 = make_version(
        owner, model, files=True, training_data=["s3://lake/credit/2"], metrics=[{"name": "auc", "value": 0.84}]
    )
    return v1, v2


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- 1. Production at a glance ------------------------------------------------------------------------------


def test_the_catalog_shows_and_filters_on_what_is_in_production(live, owner, team_alpha, viewer):
    make_model(owner, name="never-released")
    client = _client(viewer)
    page = client.get("/").content.decode()
    assert 'href="/models/credit-scoring/versions/1/">v1</a> <span class="badge' in page and "@champion" in page

    def names(**params):
        return [m.name for m in client.get("/", params).context["page"].object_list]

    # The latest version (v2) is in development, yet v1 is live: both filters find the model.
    assert names(in_production="yes") == ["credit-scoring"]
    assert names(stage=Stage.PRODUCTION) == ["credit-scoring"]
    assert names(stage=Stage.DEVELOPMENT) == ["credit-scoring"]
    assert "never-released" in names(in_production="no") and "credit-scoring" not in names(in_production="no")


def test_the_model_header_shows_the_production_version_next_to_the_latest(live, viewer):
    page = _client(viewer).get("/models/credit-scoring/").content.decode()
    assert "v1 in production" in page and "latest v2" in page


# --- 2. Promote to production in one step -------------------------------------------------------------------


def test_an_approved_version_in_development_is_promoted_through_staging_in_one_step(
    owner, model, reviewers, risk_officer, committees
):
    version = make_version(owner, model, files=True, training_data=["s3://lake/credit/1"])
    request = _approve(version, reviewers, risk_officer, committees)
    client = _client(owner)
    panel = client.get(reverse("governance:version-approvals", args=["credit-scoring", 1])).content.decode()
    assert "Promote to production" in panel
    assert "Promote to production" in client.get(request.get_absolute_url()).content.decode()

    answer = client.post(reverse("governance:version-promote", args=["credit-scoring", 1]))
    assert answer.status_code == 302
    version.refresh_from_db()
    assert version.stage == Stage.PRODUCTION
    moves = [
        (e.changes["stage"]["before"], e.changes["stage"]["after"])
        for e in AuditEvent.objects.filter(action="version.stage_changed", target_id=str(version.pk)).order_by("seq")
    ]
    assert moves == [("development", "staging"), ("staging", "production")]
    request.refresh_from_db()
    assert request.status == "promoted"


def test_promote_without_an_approval_moves_nothing(owner, model):
    version = make_version(owner, model, files=True, training_data=["s3://lake/credit/1"])
    answer = _client(owner).post(reverse("governance:version-promote", args=["credit-scoring", 1]), follow=True)
    assert "needs an approval" in answer.content.decode()
    version.refresh_from_db()
    assert version.stage == Stage.DEVELOPMENT  # not even half-way: the move to staging was rolled back


# --- 4. The reviewers' context ------------------------------------------------------------------------------


def test_the_request_page_gives_reviewers_the_context(live, owner, reviewers):
    _, v2 = live
    request = services.approval_request_submit(
        actor=owner, version=v2, target_stage=Stage.PRODUCTION, justification="AUC up 3 points."
    )
    services.vote_cast(
        actor=reviewers[0], request=request, committee=request.committees.get(slug="model-review-committee"),
        decision="approve",
    )  # fmt: skip
    page = _client(reviewers[1]).get(request.get_absolute_url()).content.decode()
    assert "Retail loan decisions with human review." in page and "Not validated for SME lending." in page
    assert reverse("governance:model-risks", args=["credit-scoring"]) in page
    assessment = model_assessment_url(v2.model)
    assert assessment in page
    # Who still has to vote, per committee: rev1 voted; rev2 and rev3 have not; the risk officer neither.
    awaiting = page.split('id="awaiting-votes"')[1].split("</section>")[0]
    assert "Model Review Committee</strong>: rev2, rev3" in awaiting
    assert "Risk &amp; Compliance Committee</strong>: risk" in awaiting
    # The candidate's metrics next to production's, with the difference.
    comparison = page.split('id="metric-comparison"')[1].split("</table>")[0]
    assert "v1 (production)" in comparison and "0.84" in comparison and "0.81" in comparison
    assert "+0.03" in comparison


def model_assessment_url(model) -> str:
    from governance.selectors import model_current_assessment

    return model_current_assessment(model).get_absolute_url()


# --- 5. Lists never hide rows -------------------------------------------------------------------------------


def test_the_dashboard_links_to_every_model_in_production(live, viewer):
    page = _client(viewer).get(reverse("governance:dashboard")).content.decode()
    assert 'href="/?in_production=yes"' in page


def test_the_inbox_pages_and_its_badge_counts_what_still_needs_action(
    owner, model, staged, reviewers, risk_officer, committees
):
    for i in range(30):
        Notification.objects.create(user=reviewers[2], message=f"Older news {i}")
    Notification.objects.filter(user=reviewers[2]).update(read_at="2026-01-01T00:00Z")
    request = services.approval_request_submit(
        actor=owner, version=staged, target_stage=Stage.PRODUCTION, justification="Ready."
    )
    client = _client(reviewers[2])
    assert client.get("/").context["nav_unread"] == 1
    inbox = client.get(reverse("governance:inbox")).content.decode()
    assert "Page 1 of 2" in inbox and "?page=2" in inbox
    assert "Older news 0" in client.get(reverse("governance:inbox"), {"page": 2}).content.decode()

    for voter, committee in ((reviewers[0], "mrc"), (reviewers[1], "mrc"), (risk_officer, "rnc")):
        services.vote_cast(actor=voter, request=request, committee=committees[committee], decision="approve")
    review = Notification.objects.get(user=reviewers[2], link=request.get_absolute_url())
    assert review.done_at is not None and review.read_at is None
    assert client.get("/").context["nav_unread"] == 0
    assert "data-done" in client.get(reverse("governance:inbox")).content.decode()
    # The owner's news of the decision still needs their attention.
    decided = Notification.objects.get(user=owner, message__contains="was approved")
    assert decided.done_at is None


def test_a_withdrawn_request_leaves_nothing_to_do_for_its_reviewers(owner, staged, reviewers):
    request = services.approval_request_submit(
        actor=owner, version=staged, target_stage=Stage.PRODUCTION, justification="Ready."
    )
    services.approval_request_withdraw(actor=owner, request=request)
    assert not Notification.objects.filter(link=request.get_absolute_url(), done_at__isnull=True).exists()


# --- 6. The audit page verifies the chain --------------------------------------------------------------------


def test_the_first_audit_page_view_verifies_the_chain_when_no_verification_is_recent(live, auditor, eager_tasks):
    assert not AuditVerification.objects.exists()
    page = _client(auditor).get(reverse("governance:audit-log")).content.decode()
    run = AuditVerification.objects.get()  # tasks run in-process here, as under `make run`
    assert run.ok and f"Chain verified up to #{run.last_seq}" in page
    _client(auditor).get(reverse("governance:audit-log"))
    assert AuditVerification.objects.count() == 1  # recent enough: not again


def test_verify_now_is_for_auditors_once_a_minute_and_recorded(live, auditor, owner):
    client = _client(auditor)
    first = client.post(reverse("governance:audit-verify"), follow=True)
    assert "Verification started" in first.content.decode()
    event = AuditEvent.objects.get(action="audit.verification_requested")
    assert event.actor_label == "auditor"
    again = client.post(reverse("governance:audit-verify"), follow=True)
    assert "less than 60 seconds ago" in again.content.decode()
    assert AuditEvent.objects.filter(action="audit.verification_requested").count() == 1
    assert _client(owner).post(reverse("governance:audit-verify")).status_code == 403


# --- 8. Layout and the actions offered -----------------------------------------------------------------------


def test_roll_back_is_offered_only_when_an_earlier_production_version_exists(
    live, owner, reviewers, risk_officer, committees
):
    client = _client(owner)
    url = reverse("governance:model-production", args=["credit-scoring"])
    assert "Roll back" not in client.get(url).content.decode()
    _, v2 = live
    _approve(v2, reviewers, risk_officer, committees)
    services.version_transition(actor=owner, version=v2, stage=Stage.PRODUCTION, through_staging=True)
    assert "Roll back to v1" in client.get(url).content.decode()


def test_a_models_governance_tabs_highlight_models_in_the_menu(model, owner):
    page = _client(owner).get(reverse("governance:model-assessments", args=["credit-scoring"]))
    assert page.context["nav_section"] == "catalog"
