"""An auditor reads the trail: the verification banner, a filtered event stream, a diff, a model's history."""

import io

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
    page.wait_for_url("**model=credit-scoring**")
    actions = page.locator("#results table > tbody > tr > td:nth-child(4) code")
    expect(actions.first).to_be_visible()
    assert all(action.startswith("version.") for action in actions.all_inner_texts()), actions.all_inner_texts()
    targets = page.locator("#results table > tbody > tr > td:nth-child(5)").all_inner_texts()
    assert all(target.startswith("credit-scoring v") for target in targets), targets

    diff = page.locator("#results details").first
    diff.locator("summary").click()
    expect(diff).to_have_attribute("open", "")
    session.screenshot("audit")

    page.goto("/governance/models/credit-scoring/history/")
    expect(page.locator("body")).to_contain_text("model.created")
    assert session.errors == [], f"browser console errors (CSP violations?): {session.errors}"
