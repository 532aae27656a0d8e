"""Single sign-on in the browser: a reviewer signs in through the identity provider's own login form
(oidc-provider on 127.0.0.1), lands on the catalog with the role their provider group maps to, then signs out
of Arbiter and of the provider (its sign-out confirmation), so the next sign-in asks for the password again."""

import copy
from urllib.parse import urlparse

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from governance.sso import services
from tests.sso.conftest import oidc_provider, sso  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser
User = get_user_model()


@pytest.fixture
def provider_csp(settings, sso):  # noqa: F811
    """Deployments get this from OIDC_ISSUER in settings.py: the sign-out form may redirect to the provider."""
    policy = copy.deepcopy(settings.CONTENT_SECURITY_POLICY)
    origin = urlparse(sso.issuer)
    policy["DIRECTIVES"]["form-action"] = [*policy["DIRECTIVES"]["form-action"], f"{origin.scheme}://{origin.netloc}"]
    settings.CONTENT_SECURITY_POLICY = policy
    return sso


def _provider_login(page, login: str) -> None:
    page.locator('input[name="login"]').fill(login)
    page.locator('input[name="password"]').fill("correct horse")
    page.get_by_role("button", name="Sign-in").click()


def test_sign_in_through_the_provider_and_out_of_both(
    transactional_db, administrator, provider_csp, browser_session, live_server
):
    services.group_map_load(actor=administrator, group_map={"arbiter-reviewers": {"roles": ["Reviewer"]}})
    provider_csp.set_users(
        {"rita-0010": {"preferred_username": "rita", "email": "rita@example.org", "groups": ["arbiter-reviewers"]}}
    )
    session = browser_session()
    page = session.page
    # The provider's development pages load web fonts from the internet; only Arbiter's pages must be clean.
    ours: list[str] = []
    page.on(
        "console",
        lambda msg: (
            msg.type == "error" and msg.location.get("url", "").startswith(live_server.url) and ours.append(msg.text)
        ),
    )

    page.goto("/accounts/login/")
    page.get_by_role("link", name="Sign in with Test IdP").click()
    page.wait_for_url(f"{provider_csp.issuer}/interaction/**")
    _provider_login(page, "rita-0010")
    page.wait_for_url(f"{live_server.url}/")
    expect(page.get_by_role("heading", name="Catalog")).to_be_visible()
    expect(
        page.get_by_role("button", name="rita (Reviewer)").or_(page.get_by_role("link", name="rita (Reviewer)"))
    ).to_be_visible()
    assert set(User.objects.get(username="rita").groups.values_list("name", flat=True)) == {"Reviewer"}

    page.get_by_role("link", name="rita (Reviewer)").or_(page.get_by_role("button", name="rita (Reviewer)")).click()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{provider_csp.issuer}/session/end**")
    page.get_by_role("button", name="Yes, sign me out").click()
    page.wait_for_url("**/accounts/login/")
    expect(page.get_by_role("link", name="Sign in with Test IdP")).to_be_visible()

    page.get_by_role("link", name="Sign in with Test IdP").click()
    page.wait_for_url(f"{provider_csp.issuer}/interaction/**")
    expect(page.locator('input[name="password"]')).to_be_visible()  # the provider's session ended too
    assert ours == [], f"browser console errors on Arbiter's pages: {ours}"
