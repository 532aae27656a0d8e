"""Lists that never hide rows and pages that fit the screen, on the demo data (`seed_demo`): the catalog's
production column and filter, an 85-character model name, the owner's governance dashboard and inbox, the
menu on a model's governance tabs, *Roll back*, and the audit page verifying its chain by itself."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from playwright.sync_api import expect

from governance.models import AuditVerification, Notification
from registry import permissions, services
from registry.models import RegisteredModel
from registry.permissions import Action

pytestmark = pytest.mark.browser

PASSWORD = "e2e-demo-password"
# Underscores and dots offer no line break, unlike dashes.
LONG_NAME = "customer_lifetime_value_regression_for_the_retail_and_small_business_segments_2026_v2"

# Every <section> of the page: its box, and whether its content spills out of it sideways.
SECTION_BOXES = """() => [...document.querySelectorAll('main section')].map(s => {
  const r = s.getBoundingClientRect();
  return {left: r.left, right: r.right, top: r.top, bottom: r.bottom, spills: s.scrollWidth > s.clientWidth + 1};
})"""


@pytest.fixture
def demo(transactional_db, monkeypatch, artifact_storage):
    monkeypatch.setenv("DEMO_PASSWORD", PASSWORD)
    call_command("seed_demo", stdout=io.StringIO())


def _live_for(username: str):
    """The models with a version in production that this demo user may see."""
    user = get_user_model().objects.get(username=username)
    return permissions.restrict(RegisteredModel.objects.filter(production_version__isnull=False), user, Action.VIEW)


def _fits(page, selector: str) -> bool:
    return page.eval_on_selector(selector, "e => e.scrollWidth <= e.clientWidth + 1")


def test_the_catalog_shows_production_and_a_long_name_wraps(demo, browser_session):
    assert len(LONG_NAME) == 85
    owner = RegisteredModel.objects.get(name="credit-scoring").owner
    services.model_create(actor=owner, name=LONG_NAME, title="Customer lifetime value for retail and SMEs")
    live = _live_for("viewer")
    credit = live.get(name="credit-scoring")

    session = browser_session()
    page = session.page
    session.login("viewer", PASSWORD)
    row = page.locator("#results tbody tr", has_text="credit-scoring")
    expect(row.locator("[data-production]")).to_have_text(f"v{credit.production_version}")
    expect(page.locator("#results tbody tr", has_text=LONG_NAME)).to_be_visible()
    assert _fits(page, "#results .table-responsive"), "the long name pushes the columns off screen"
    assert page.locator(f"[title='{LONG_NAME}']").count() == 1, "the full name on hover"

    page.get_by_label("Production").select_option(label="Has a version in production")
    page.wait_for_url("**in_production=yes**")
    expect(page.locator("#results tbody tr")).to_have_count(min(live.count(), 25))
    assert "—" not in page.locator("#results tbody [data-production]").all_inner_texts()
    page.get_by_label("A version in stage").select_option(label="Production")
    page.wait_for_url("**stage=production**")
    expect(page.locator("#results tbody tr")).to_have_count(min(live.count(), 25))
    session.screenshot("catalog-production")
    assert session.errors == [], session.errors


def test_the_owners_dashboard_inbox_and_model_tabs(demo, browser_session):
    owner = RegisteredModel.objects.get(name="credit-scoring").owner
    Notification.objects.bulk_create(
        Notification(user=owner, message=f"Older news {i}", read_at="2026-11-01T00:00Z") for i in range(30)
    )
    session = browser_session()
    page = session.page
    session.login("owner", PASSWORD)

    page.goto("/governance/")
    boxes = page.evaluate(SECTION_BOXES)
    assert not any(box["spills"] for box in boxes), boxes
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            apart = (
                a["right"] <= b["left"] or b["right"] <= a["left"] or a["bottom"] <= b["top"] or b["bottom"] <= a["top"]
            )
            assert apart, f"dashboard sections overlap: {a} {b}"
    session.screenshot("dashboard")
    page.get_by_role("link", name="See all", exact=False).filter(has_text="in the catalog").click()
    page.wait_for_url("**in_production=yes**")
    live = _live_for("owner").count()
    expect(page.locator("#results p[aria-live]")).to_contain_text(f"{live} model")

    # The inbox pages; its badge counts what still needs action.
    needing = Notification.objects.filter(user=owner, read_at__isnull=True, done_at__isnull=True).count()
    page.goto("/governance/inbox/")
    expect(page.locator("a[aria-label^='Inbox']")).to_have_attribute(
        "aria-label", f"Inbox, {needing} unread" if needing else "Inbox"
    )
    page.get_by_role("navigation", name="Inbox pages").get_by_role("link", name="Next").click()
    page.wait_for_url("**page=2")
    expect(page.get_by_text("Older news 0", exact=True)).to_be_visible()

    # A model's Assessments tab is part of the catalog in the menu; Roll back where there is an earlier version.
    page.goto("/governance/models/credit-scoring/assessments/")
    expect(page.locator(".navbar .nav-link.active")).to_have_text("Catalog")
    page.goto("/models/credit-scoring/")
    expect(page.locator("#production-panel").get_by_role("button", name="Roll back", exact=False)).to_be_visible()
    assert session.errors == [], session.errors


def test_the_audit_page_verifies_its_chain_and_diffs_fit(demo, browser_session, eager_tasks):
    assert not AuditVerification.objects.exists(), "no beat ran: nothing verified yet"
    credit = RegisteredModel.objects.get(name="credit-scoring")
    report = "s3://validation/" + "a1b2c3d4e5f6" * 20 + ".pdf"  # no break opportunity in 250 characters
    services.model_update(actor=credit.owner, model=credit, data={"description": f"Validation: {report}"})
    session = browser_session()
    page = session.page
    session.login("auditor", PASSWORD)
    page.goto("/governance/audit/")
    expect(page.get_by_role("status").filter(has_text="Chain verified up to #")).to_be_visible()

    page.get_by_role("button", name="Verify now").click()
    expect(page.get_by_text("Verification started")).to_be_visible()
    page.get_by_role("button", name="Verify now").click()
    expect(page.get_by_text("less than 60 seconds ago")).to_be_visible()

    # A diff with a long unbroken value (a link in the description) wraps inside the table.
    page.get_by_label("Action (e.g. version.created, or version.)").fill("model.updated")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**action=model.updated**")
    page.wait_for_load_state("networkidle")  # the form also filters as you type: let the last answer land
    page.locator("#results details summary").first.click()
    expect(page.locator("#results details[open] .audit-diff")).to_be_visible()
    assert _fits(page, "#results .table-responsive"), "the expanded diff is clipped"
    session.screenshot("audit-verify")
    assert session.errors == [], session.errors
