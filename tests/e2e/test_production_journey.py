"""A high-risk model from registration to production with the demo users only (`seed_demo`): the owner
registers it, uploads its weights and classifies it; the risk officer approves the assessment; the owner
submits the version; `reviewer` and `reviewer2` (the Model Review Committee needs two approvals) and `risk`
(Risk & Compliance) vote with the context the request page gives them; the owner promotes the approved
version, still in development, to production in one step; the catalog shows it live."""

import io

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from registry.models import RegisteredModel
from tests.artifact_files import safetensors_bytes
from tests.e2e.test_assessment_journey import answer, continue_to

pytestmark = pytest.mark.browser

PASSWORD = "e2e-demo-password"


@pytest.fixture
def demo(celery_worker, monkeypatch):
    monkeypatch.setenv("DEMO_PASSWORD", PASSWORD)
    call_command("seed_demo", stdout=io.StringIO())


def _register(page) -> None:
    page.get_by_role("link", name="Register a model").click()
    page.locator("#id_name").fill("loan-pricing")
    page.locator("#id_title").fill("Retail loan pricing")
    page.locator("#id_team").select_option(label="Credit Risk Analytics")
    page.locator("#id_intended_use").fill("Prices retail loans from the applicant's probability of default.")
    page.locator("#id_limitations").fill("Not validated for SME or mortgage lending.")
    page.get_by_role("button", name="Register", exact=True).click()
    expect(page.get_by_text("Registered loan-pricing.")).to_be_visible()
    page.get_by_role("link", name="Register a version").first.click()
    page.locator("#id_training_data").fill("s3://datalake/loan-pricing/train/2026-11/")
    page.locator("#id_metrics").fill("auc, 0.83, loan-holdout, test")
    page.get_by_role("button", name="Register version").click()
    expect(page.get_by_text("Registered loan-pricing v1.")).to_be_visible()


def _upload(page, tmp_path) -> None:
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(safetensors_bytes({"w": ("F32", [64, 64])}, fill=b"\x02"))
    page.locator("#id_file").set_input_files(str(weights))
    page.get_by_role("button", name="Upload").click()
    row = page.locator("tr[data-artifact='model.safetensors']")
    expect(row.locator("[data-artifact-status]")).to_have_attribute("data-artifact-status", "valid", timeout=30000)


def _classify(page) -> None:
    """The EU AI Act questionnaire, answered for a credit decision: high risk under Annex III 5(b)."""
    page.goto("/governance/models/loan-pricing/assessments/")
    page.get_by_label("Questionnaire").select_option(label="EU AI Act risk classification (v1)")
    page.get_by_role("button", name="Start").click()
    page.get_by_label("Describe the system's intended purpose", exact=False).fill(
        "Prices retail loans; the price depends on the applicant's creditworthiness."
    )
    page.locator("#question-operator_role").get_by_label("Provider: we develop it", exact=False).check()
    answer(page, "eu_nexus", "Yes")
    answer(page, "excluded_purpose", "No")
    continue_to(page, "Prohibited practices")
    for letter in "abcdefgh":
        answer(page, f"art5_1_{letter}", "No")
    continue_to(page, "Product-safety route")
    answer(page, "annex1_product", "No")
    continue_to(page, "High-risk areas")
    answer(page, "annex3_applies", "Yes")
    page.locator("#question-annex3_points").get_by_label("creditworthiness", exact=False).check()
    answer(page, "art6_3_profiling", "Yes")
    continue_to(page, "Transparency obligations")
    for question in ("art50_1_interaction", "art50_2_synthetic", "art50_3_emotion_biometric", "art50_4_deep_fake"):
        answer(page, question, "No")
    continue_to(page, "General-purpose AI models")
    answer(page, "gpai_model", "No")
    continue_to(page, "Oversight and evidence")
    page.get_by_label("Describe the human oversight measures", exact=False).fill(
        "Underwriters review every price above the standard grid and can override it with a reason."
    )
    page.get_by_role("button", name="Save and review").click()
    page.get_by_role("button", name="Submit for review").click()
    expect(page.get_by_text("Submitted. A risk officer will review it")).to_be_visible()


def test_a_high_risk_model_reaches_production_with_the_demo_users(demo, browser_session, tmp_path):
    owner = browser_session()
    page = owner.page
    owner.login("owner", PASSWORD)
    _register(page)
    _upload(page, tmp_path)
    _classify(page)

    risk = browser_session()
    risk.login("risk", PASSWORD)
    risk.page.goto("/governance/assessments/review/")
    risk.page.get_by_role("row", name="loan-pricing").get_by_role("link", name="Review").click()
    risk.page.get_by_label("Approve").check()
    risk.page.get_by_label("Sign-off comment").fill("Creditworthiness of natural persons: Annex III 5(b).")
    risk.page.get_by_role("button", name="Record decision").click()
    expect(risk.page.get_by_text("Approved. loan-pricing's risk tier now follows this assessment.")).to_be_visible()
    assert RegisteredModel.objects.get(name="loan-pricing").risk_tier == "high"

    # The owner submits v1, still in development, for production.
    page.goto("/models/loan-pricing/versions/1/")
    expect(page.get_by_text("Needs: Model Review Committee and Risk & Compliance Committee")).to_be_visible()
    page.get_by_label("Justification").first.fill("First release; validated on the November holdout.")
    page.get_by_role("button", name="Submit for approval").click()
    expect(page.get_by_role("heading", name="Retail loan pricing v1")).to_be_visible()
    request_url = page.url

    for username, committee in (("reviewer", "Model Review Committee"), ("reviewer2", "Model Review Committee"),
                                 ("risk", "Risk & Compliance Committee")):  # fmt: skip
        session = risk if username == "risk" else browser_session()
        if username != "risk":
            session.login(username, PASSWORD)
        review = session.page
        review.goto(request_url)
        # The reviewer's context: what the model is for, its assessment and risk register, who is left to vote.
        expect(review.locator("#review-context")).to_contain_text("Not validated for SME or mortgage lending.")
        expect(review.locator("#review-context").get_by_role("link", name="Approved risk assessment")).to_be_visible()
        expect(review.locator("#review-context").get_by_role("link", name="Risk register")).to_be_visible()
        expect(review.locator("#awaiting-votes")).to_contain_text(username)
        if username == "reviewer":
            session.screenshot("request-context")
        form = review.get_by_role("region", name=f"Your vote for {committee}")
        form.get_by_label("Approve").check()
        form.get_by_label("Comment").fill("Validation evidence reviewed.")
        form.get_by_role("button", name="Cast vote").click()
        expect(review.get_by_text("Your vote is recorded.")).to_be_visible()
        assert session.errors == [], session.errors

    # The owner promotes from the version page: development → staging → production in one step.
    page.goto("/models/loan-pricing/versions/1/")
    promote = page.get_by_role("button", name="Promote to production")
    expect(promote).to_be_visible()
    owner.screenshot("promote")
    promote.click()
    expect(page.get_by_text("v1 moved to production.")).to_be_visible()
    expect(page.locator(".badge", has_text="Production").first).to_be_visible()

    # The catalog shows it live, and "in production" finds it.
    page.goto("/?in_production=yes&q=loan")
    row = page.locator("#results tbody tr", has_text="loan-pricing")
    expect(row.locator("[data-production]")).to_have_text("v1")
    page.goto("/models/loan-pricing/")
    expect(page.locator("[data-header-production]")).to_have_text("v1 in production")
    # The first production version: nothing to roll back to.
    expect(page.locator("#production-panel")).to_contain_text("v1 in production")
    expect(page.get_by_role("button", name="Roll back")).to_have_count(0)
    assert owner.errors == [], owner.errors
