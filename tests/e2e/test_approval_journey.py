"""The approval journey in real browsers: the owner submits a version for production, two reviewers
approve in their own sessions, the owner cannot vote on their own model, and the owner promotes."""

import pytest
from playwright.sync_api import expect

from governance import services
from governance.models import Committee
from registry.choices import RiskTier, Stage
from registry.permissions import Role
from tests.factories import PASSWORD, make_model, make_user, make_version
from tests.governance.conftest import classify

pytestmark = pytest.mark.browser


def test_owner_submits_reviewers_approve_owner_promotes(browser_session, owner, team_alpha, administrator):
    model = make_model(
        owner,
        name="churn-prediction",
        title="Customer churn propensity",
        team=team_alpha,
        intended_use="Prioritise retention offers.",
        limitations="Not for credit decisions.",
    )
    classify(model, RiskTier.LIMITED)
    version = make_version(
        owner,
        model,
        training_data=["s3://lake/churn/2026-11/"],
        metrics=[{"name": "auc", "value": 0.87, "split": "test"}],
        files=True,
    )
    services.version_transition(actor=owner, version=version, stage=Stage.STAGING)
    mrc = Committee.objects.get(slug="model-review-committee")
    reviewers = [make_user(name, roles=[Role.REVIEWER]) for name in ("alice", "bob")]
    for reviewer in reviewers:
        services.committee_member_set(actor=administrator, committee=mrc, user=reviewer)
    services.committee_member_set(actor=administrator, committee=mrc, user=owner)

    # The owner submits from the version page.
    owner_session = browser_session()
    page = owner_session.page
    owner_session.login("owner", PASSWORD)
    page.goto("/models/churn-prediction/versions/1/")
    expect(page.get_by_text("Needs: Model Review Committee")).to_be_visible()
    page.get_by_label("Justification").first.fill("AUC up 3 points on the November holdout; drift report attached.")
    page.get_by_role("button", name="Submit for approval").click()
    expect(page.get_by_role("heading", name="Customer churn propensity v1")).to_be_visible()
    request_url = page.url
    # The owner sits on the committee, but separation of duties keeps them from voting.
    expect(page.get_by_text("Separation of duties")).to_be_visible()
    expect(page.get_by_role("button", name="Cast vote")).to_have_count(0)

    # Two reviewers approve, each in their own browser session.
    for name in ("alice", "bob"):
        session = browser_session()
        session.login(name, PASSWORD)
        expect(session.page.get_by_role("link", name="Reviews 1")).to_be_visible()
        session.page.goto(request_url)
        session.page.get_by_label("Approve").check()
        session.page.get_by_label("Comment").fill("Validation evidence reviewed; fine for production.")
        session.page.get_by_role("button", name="Cast vote").click()
        expect(session.page.get_by_text("Your vote is recorded.")).to_be_visible()
        if name == "alice":
            session.screenshot("review")
        assert session.errors == [], session.errors

    # The owner promotes the approved version.
    page.goto(request_url)
    expect(page.locator("[data-request-status]").first).to_have_attribute("data-request-status", "approved")
    page.get_by_role("button", name="Promote to production").click()
    expect(page.get_by_text("moved to production")).to_be_visible()
    version.refresh_from_db()
    assert version.stage == Stage.PRODUCTION
    assert owner_session.errors == [], owner_session.errors
