"""A reviewer signs in, searches the catalog, opens a model and one of its versions."""

import io

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

PASSWORD = "e2e-demo-password"


@pytest.fixture
def demo(transactional_db, monkeypatch):
    monkeypatch.setenv("DEMO_PASSWORD", PASSWORD)
    call_command("seed_demo", stdout=io.StringIO())


def test_reviewer_searches_catalog_and_opens_a_version(demo, browser_session):
    session = browser_session()
    page = session.page
    session.login("reviewer", PASSWORD)

    assert page.get_by_role("heading", name="Model catalog").is_visible()
    session.screenshot("catalog")

    page.get_by_role("searchbox", name="Search").fill("credit scoring")
    expect(page.locator("#results tbody tr")).to_have_count(1)
    assert page.url.endswith("/?q=credit%20scoring&page_size=25"), f"shareable address expected, got {page.url}"
    page.get_by_role("link", name="Retail credit scoring").click()
    page.wait_for_url("**/models/credit-scoring/")
    assert page.get_by_role("heading", name="Retail credit scoring").is_visible()
    assert page.locator("canvas[data-chart][data-drawn='1']").count() == 1, "metrics chart drawn"

    page.get_by_role("link", name="v5", exact=True).click()
    page.wait_for_url("**/models/credit-scoring/versions/5/")
    assert page.get_by_role("heading", name="Metrics").is_visible()
    assert page.get_by_role("cell", name="auc").is_visible()
    session.screenshot("version")

    assert session.errors == [], f"browser console errors (CSP violations?): {session.errors}"

    # Restricted models are visible to a reviewer only once a request about them is routed to their committee.
    routed = page.goto("/models/chest-xray-triage/")
    assert routed.status == 200
    restricted = page.goto("/models/aml-monitoring/")
    assert restricted.status == 404, "a restricted model is invisible to a reviewer without a grant"
