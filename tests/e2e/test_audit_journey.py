"""An auditor reads the trail: the verification banner, a filtered event stream, a diff, a model's history."""

import io
import re

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from governance import checkpoints

pytestmark = pytest.mark.browser

PASSWORD = "e2e-demo-password"


@pytest.fixture
def demo(transactional_db, monkeypatch, artifact_storage):
    monkeypatch.setenv("DEMO_PASSWORD", PASSWORD)
    call_command("seed_demo", stdout=io.StringIO())
    checkpoints.verification_run()  # what the periodic task does


def test_auditor_filters_the_trail_and_opens_a_diff(demo, browser_session):
    session = browser_session()
    page = session.page
    session.login("auditor", PASSWORD)

    page.goto("/governance/audit/")
    assert page.get_by_role("heading", name="Audit trail").is_visible()
    expect(page.get_by_role("status").filter(has_text="Chain verified up to #")).to_be_visible()

    page.get_by_label("Model name").fill("credit-scoring")
    page.get_by_label("Action (e.g. version.created, or version.)").fill("version.")
    page.get_by_role("button", name="Apply").click()
    # The form also filters as you type (htmx), so the address and the table pass through the model-only
    # filter first: wait for both filters, and let the assertions retry until the last answer is shown.
    page.wait_for_url(re.compile(r"action=version\."))
    actions = page.locator("#results table > tbody > tr > td:nth-child(4) code")
    expect(actions.first).to_be_visible()
    expect(actions.filter(has_not_text=re.compile(r"^version\."))).to_have_count(0)
    targets = page.locator("#results table > tbody > tr > td:nth-child(5)")
    expect(targets.filter(has_not_text=re.compile(r"^credit-scoring v"))).to_have_count(0)

    diff = page.locator("#results details").first
    diff.locator("summary").click()
    expect(diff).to_have_attribute("open", "")
    session.screenshot("audit")

    page.goto("/governance/models/credit-scoring/history/")
    older = page.get_by_role("link", name="Older")
    while older.count():  # newest first, 50 a page: the model's creation is on the last page
        older.click()
    expect(page.locator("body")).to_contain_text("model.created")
    assert session.errors == [], f"browser console errors (CSP violations?): {session.errors}"
