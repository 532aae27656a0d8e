"""The owner of a credit-scoring model fills in the EU AI Act questionnaire and submits it; a risk officer, in
their own browser, approves it; the model becomes high-risk (Annex III 5(b))."""

import pytest
from playwright.sync_api import expect

from governance import services as governance_services
from registry import services
from registry.models import RegisteredModel
from registry.permissions import Role
from tests.e2e.conftest import SCREENSHOTS
from tests.factories import PASSWORD, make_model, make_user, make_version

pytestmark = pytest.mark.browser


@pytest.fixture
def credit_scoring(transactional_db):
    governance_services.frameworks_load()  # a transactional test starts from a flushed database
    admin = make_user("admin", roles=[Role.ADMINISTRATOR])
    team = services.team_create(actor=admin, name="Credit Risk Analytics")
    owner = make_user("owner", roles=[Role.MODEL_OWNER], teams=[team])
    make_user("risk", roles=[Role.RISK_OFFICER])
    model = make_model(
        owner,
        name="credit-scoring",
        title="Retail credit scoring",
        team=team,
        description="Probability of default at 12 months for retail loan applicants.",
    )
    make_version(owner, model)
    return model


def answer(page, question: str, label: str) -> None:
    page.locator(f"#question-{question}").get_by_label(label, exact=True).check()


def continue_to(page, heading: str) -> None:
    page.get_by_role("button", name="Save and continue").click()
    expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()


def test_owner_assesses_credit_scoring_and_risk_officer_approves(credit_scoring, browser_session):
    owner = browser_session()
    page = owner.page
    owner.login("owner", PASSWORD)

    page.goto("/models/credit-scoring/")
    page.get_by_role("link", name="Assessments", exact=True).click()
    expect(page.get_by_role("heading", name="No assessments yet")).to_be_visible()
    page.get_by_label("Questionnaire").select_option(label="EU AI Act risk classification (v1)")
    page.get_by_role("button", name="Start").click()

    # 1. System and scope
    expect(page.get_by_role("heading", name="System and scope")).to_be_visible()
    page.get_by_label("Describe the system's intended purpose", exact=False).fill(
        "Estimates the probability of default of retail loan applicants; the score decides approval and limits."
    )
    page.locator("#question-operator_role").get_by_label("Provider: we develop it", exact=False).check()
    answer(page, "eu_nexus", "Yes")
    answer(page, "excluded_purpose", "No")
    continue_to(page, "Prohibited practices")

    # 2. Prohibited practices: none of Art. 5(1)(a)-(h)
    for letter in "abcdefgh":
        answer(page, f"art5_1_{letter}", "No")
    continue_to(page, "Product-safety route")

    # 3. Annex I: the follow-up questions stay hidden when the answer is no
    expect(page.locator("#question-annex1_third_party")).to_be_hidden()
    answer(page, "annex1_product", "No")
    continue_to(page, "High-risk areas")

    # 4. Annex III: the list of uses appears live once the system is in an Annex III area
    expect(page.locator("#question-annex3_points")).to_be_hidden()
    answer(page, "annex3_applies", "Yes")
    expect(page.locator("#question-annex3_points")).to_be_visible()
    page.locator("#question-annex3_points").get_by_label("creditworthiness", exact=False).check()
    answer(page, "art6_3_profiling", "Yes")
    expect(page.locator("#question-art6_3_conditions")).to_be_hidden()
    expect(page.locator("#tier-preview")).to_contain_text("High risk")
    expect(page.locator("#tier-preview")).to_contain_text("Annex III 5(b)")
    continue_to(page, "Transparency obligations")

    # 5. Transparency, 6. general-purpose AI
    for question in ("art50_1_interaction", "art50_2_synthetic", "art50_3_emotion_biometric", "art50_4_deep_fake"):
        answer(page, question, "No")
    continue_to(page, "General-purpose AI models")
    answer(page, "gpai_model", "No")
    continue_to(page, "Oversight and evidence")

    # 7. Oversight and evidence, then review
    page.get_by_label("Describe the human oversight measures", exact=False).fill(
        "Underwriters review every decline and can override the score with a recorded reason."
    )
    page.locator("#question-supporting_evidence").get_by_label("or a link").fill(
        "https://dms.example.org/legal/credit-scoring-ai-act-opinion.pdf"
    )
    page.get_by_role("button", name="Save and review").click()
    expect(page.get_by_role("heading", name="Review and submit")).to_be_visible()
    expect(page.get_by_text("Every required question is answered.")).to_be_visible()
    page.get_by_role("button", name="Submit for review").click()
    expect(page.get_by_text("Submitted. A risk officer will review it")).to_be_visible()
    expect(page.get_by_role("button", name="Record decision")).to_have_count(0)
    assert RegisteredModel.objects.get(name="credit-scoring").risk_tier == "unassessed", "not before approval"

    # The risk officer, in their own browser session, approves.
    officer = browser_session()
    review = officer.page
    officer.login("risk", PASSWORD)
    review.get_by_role("link", name="Risk", exact=True).click()
    expect(review.get_by_role("heading", name="Risk", exact=True)).to_be_visible()
    review.get_by_role("link", name="Review", exact=True).click()
    expect(review.locator(".rule-list li.decisive")).to_contain_text("Annex III 5(b)")
    review.get_by_label("Approve").check()
    review.get_by_label("Sign-off comment").fill(
        "Creditworthiness of natural persons: high-risk under Annex III 5(b); profiling rules out Art. 6(3)."
    )
    review.get_by_role("button", name="Record decision").click()
    expect(review.get_by_text("Approved.")).to_be_visible()
    expect(review.locator("[data-assessment-status='approved']").first).to_be_visible()
    review.set_viewport_size({"width": 1360, "height": 1180})
    review.evaluate("window.scrollTo(0, 0)")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    review.screenshot(path=str(SCREENSHOTS / "assessment.png"))

    # The model is now high-risk, in the catalog and on its page.
    assert RegisteredModel.objects.get(name="credit-scoring").risk_tier == "high"
    page.goto("/")
    expect(page.locator("[data-risk='high']").first).to_be_visible()
    page.goto("/models/credit-scoring/")
    expect(page.locator("h1 + div [data-risk='high']")).to_be_visible()

    assert owner.errors == [], f"browser console errors in the owner's session: {owner.errors}"
    assert officer.errors == [], f"browser console errors in the risk officer's session: {officer.errors}"
