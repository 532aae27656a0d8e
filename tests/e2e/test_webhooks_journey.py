"""An owner subscribes a receiver to events in the browser, sends a test ping with htmx and watches the
delivery log fill in, with a real Celery worker and a real HTTP receiver on 127.0.0.1 (allowed the way an
administrator allows an internal host). Screenshots of the Webhooks page and a webhook's log for the docs."""

import pytest
from playwright.sync_api import expect

from governance.models import WebhookDelivery, WebhookSubscription
from registry import services
from registry.permissions import Role
from tests.conftest import wait_for
from tests.factories import PASSWORD, make_model, make_user, make_version
from tests.webhook_receiver import Receiver, verify

pytestmark = pytest.mark.browser


@pytest.fixture
def receivers(settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.WEBHOOK_BACKOFF_BASE = 0.2
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    good, broken = Receiver().start(), Receiver(statuses=[500]).start()
    yield good, broken
    good.stop()
    broken.stop()


def test_owner_subscribes_tests_and_reads_the_delivery_log(celery_worker, browser_session, receivers):
    good, broken = receivers
    administrator = make_user("administrator", roles=[Role.ADMINISTRATOR], is_staff=True)
    alpha = services.team_create(actor=administrator, name="Alpha")
    owner = make_user("owner", roles=[Role.MODEL_OWNER], teams=[alpha])
    model = make_model(owner, name="credit-scoring", title="Retail credit scoring", team=alpha)

    session = browser_session()
    session.login("owner", PASSWORD)
    page = session.page
    page.get_by_role("link", name="Webhooks").click()
    expect(page.get_by_role("heading", name="No webhooks yet")).to_be_visible()

    # A refused URL comes back next to its field.
    page.get_by_label("Name").fill("Deploy bot")
    page.get_by_label("Payload URL").fill("http://169.254.169.254/latest/meta-data/")
    page.get_by_label("A version is registered").check()
    page.get_by_role("button", name="Create webhook").click()
    expect(page.get_by_text("a link-local address")).to_be_visible()

    page.get_by_label("Payload URL").fill(good.url)
    page.get_by_label("A version changes stage").check()
    page.get_by_role("button", name="Create webhook").click()
    expect(page.get_by_role("heading", name="Deploy bot")).to_be_visible()
    subscription = WebhookSubscription.objects.get(name="Deploy bot")

    page.get_by_role("button", name="Send test").click()
    expect(page.locator('[data-delivery-status="succeeded"]')).to_be_visible(timeout=20_000)
    assert good.requests[0].headers["X-Arbiter-Event"] == "ping"
    assert verify(subscription.secret, good.requests[0])

    make_version(owner, model)  # version.created: delivered to the receiver, shown in the log
    wait_for(lambda: len(good.requests) == 2, timeout=20, what="the version.created delivery")
    page.reload()
    expect(page.locator('[data-delivery-status="succeeded"]')).to_have_count(2)
    session.screenshot("webhook-detail")

    # A second webhook whose receiver is down: it fails after WEBHOOK_MAX_ATTEMPTS, and the list says so.
    page.get_by_role("link", name="Webhooks").first.click()
    page.get_by_label("Name").fill("Model inventory sync")
    page.get_by_label("Payload URL").fill(broken.url)
    page.get_by_label("A model is registered").check()
    page.get_by_role("button", name="Create webhook").click()
    make_model(owner, name="churn", title="Churn propensity", team=alpha)
    wait_for(lambda: WebhookDelivery.objects.filter(status="failed").exists(), timeout=20, what="the failing delivery")
    page.get_by_role("link", name="Webhooks").first.click()
    expect(page.locator('[data-delivery-status="failed"]')).to_have_text("Failed · 500")
    expect(page.locator('[data-delivery-status="succeeded"]')).to_be_visible()
    session.screenshot("webhooks")
    # The refused form was answered 400 on purpose (Chromium logs that); nothing else may be in the console.
    errors = [e for e in session.errors if "status of 400 (Bad Request)" not in e]
    assert errors == [], f"browser console errors (CSP violations?): {errors}"
