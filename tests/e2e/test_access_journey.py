"""An administrator sets up a team and a pipeline's service account with a token; an owner shares a restricted
model. Bootstrap, htmx and our script work under the Content-Security-Policy: no console errors, and an
inline script injected into the page is refused."""

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from registry import services
from registry.choices import Visibility
from registry.models import ApiToken, RegisteredModel, ServiceAccount
from registry.permissions import Action, Role
from tests.factories import PASSWORD, make_model, make_user

pytestmark = pytest.mark.browser
User = get_user_model()


@pytest.fixture
def people(transactional_db):
    administrator = make_user("administrator", roles=[Role.ADMINISTRATOR], is_staff=True)
    alpha = services.team_create(actor=administrator, name="Alpha")
    owner = make_user("owner", roles=[Role.MODEL_OWNER], teams=[alpha])
    make_user("colleague", roles=[Role.VIEWER])
    make_model(owner, name="credit-scoring", title="Retail credit scoring", visibility=Visibility.RESTRICTED)
    make_model(owner, name="churn", title="Churn propensity")
    return {"administrator": administrator, "owner": owner}


def test_administrator_sets_up_a_team_and_a_pipeline(people, browser_session):
    session = browser_session()
    page = session.page
    page.on("dialog", lambda dialog: dialog.accept())
    session.login("administrator", PASSWORD)

    page.get_by_role("link", name="Teams").click()
    page.get_by_label("Name").fill("Risk Analytics")
    page.get_by_role("button", name="Create team").click()
    page.wait_for_url("**/teams/risk-analytics/")
    page.get_by_label("Add a member (username)").fill("owner")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.get_by_role("cell", name="owner", exact=True)).to_be_visible()

    page.get_by_role("link", name="Service accounts").click()
    expect(page.get_by_text("No service accounts yet")).to_be_visible()
    page.get_by_label("Username").fill("ci-training")
    page.get_by_label("Model Owner").check()
    page.get_by_label("Risk Analytics").check()
    page.get_by_role("button", name="Create service account").click()
    page.wait_for_url("**/service-accounts/ci-training/")
    page.get_by_label("Name").fill("nightly training")
    page.get_by_label("Write").check()
    page.get_by_role("button", name="Create token").click()
    secret = page.locator("#new-secret").inner_text()
    assert secret.startswith("arb_")
    session.screenshot("service-account")
    page.get_by_role("button", name=f"Revoke {ApiToken.objects.get().prefix}").click()
    expect(page.get_by_text("Revoked", exact=True)).to_be_visible()
    assert ServiceAccount.objects.get().user.groups.filter(name="team:risk-analytics").exists()

    # Bootstrap's JavaScript runs: the user menu opens.
    page.get_by_role("button", name="administrator").or_(page.get_by_role("link", name="administrator")).click()
    expect(page.get_by_role("link", name="API tokens")).to_be_visible()

    assert session.errors == [], f"browser console errors (CSP violations?): {session.errors}"


def test_owner_shares_a_model_and_htmx_search_works_under_the_csp(people, browser_session):
    session = browser_session()
    page = session.page
    session.login("owner", PASSWORD)

    page.get_by_role("searchbox", name="Search").fill("credit")
    expect(page.locator("#results tbody tr")).to_have_count(1)
    assert "q=credit" in page.url, "htmx pushed the search into the address"

    page.goto("/models/credit-scoring/access/")
    page.get_by_label("Username").fill("colleague")
    page.get_by_role("button", name="Grant").click()
    expect(page.get_by_role("cell", name="colleague")).to_be_visible()
    model, colleague = RegisteredModel.objects.get(name="credit-scoring"), User.objects.get(username="colleague")
    assert services.direct_grants(model, colleague) == {Action.VIEW.value}
    session.screenshot("access-tab")
    assert session.errors == [], f"browser console errors (CSP violations?): {session.errors}"

    ran = page.evaluate(
        """() => {
            const script = document.createElement("script");
            script.textContent = "window.injected = true";
            document.head.appendChild(script);
            return window.injected === true;
        }"""
    )
    assert ran is False, "the CSP refuses inline scripts"
    page.wait_for_timeout(200)
    assert any("Content Security Policy" in error for error in session.errors), session.errors
