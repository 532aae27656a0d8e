"""Webhooks: subscriptions, events from the audit trail, signed delivery with retries, and the SSRF guard.

Receivers are real HTTP servers on 127.0.0.1 (tests/webhook_receiver.py), allowed through
WEBHOOK_ALLOWED_HOSTS exactly as an administrator would allow an internal host; deliveries go through a real
Celery worker where the timing matters (signature, retries, the test ping).
"""

from __future__ import annotations

import ipaddress
import json
import uuid

import pytest
from django.db import transaction
from django.urls import reverse
from rest_framework.test import APIClient

from governance import webhooks
from governance.choices import DeliveryStatus, WebhookEvent
from governance.models import AuditEvent, WebhookDelivery, WebhookSubscription
from governance.webhook_transport import address_refusal
from registry.choices import Visibility
from registry.exceptions import InvalidInput
from tests.conftest import wait_for
from tests.factories import make_model, make_version
from tests.webhook_receiver import Receiver, verify

ALL_EVENTS = list(WebhookEvent.values)


@pytest.fixture
def receiver():
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture
def allow_local(settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.WEBHOOK_BACKOFF_BASE = 0.2
    return settings


def subscribe(user, url, *, events=ALL_EVENTS, model=None, name="Deploy bot"):
    return webhooks.webhook_subscription_create(actor=user, name=name, url=url, event_types=events, model=model)


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


# --- Delivery over the wire -----------------------------------------------------------------------------------


def test_a_receiver_verifies_the_signature_of_a_real_delivery(celery_worker, allow_local, receiver, owner):
    subscription = subscribe(owner, receiver.url, events=[WebhookEvent.VERSION_CREATED])
    model = make_model(owner, name="fraud-detector")
    version = make_version(owner, model)

    wait_for(lambda: receiver.requests, timeout=30, what="the webhook delivery")
    received = receiver.requests[0]
    assert verify(subscription.secret, received)
    assert not verify("whsec_wrong", received)
    payload = json.loads(received.body)
    delivery = WebhookDelivery.objects.get(subscription=subscription)
    assert received.headers["X-Arbiter-Event"] == "version.created"
    assert received.headers["X-Arbiter-Delivery"] == str(delivery.delivery_id) == payload["delivery_id"]
    assert received.headers["Content-Type"] == "application/json"
    assert payload["event"] == "version.created"
    assert payload["model"]["name"] == "fraud-detector"
    assert payload["target"] == {"type": "version", "id": str(version.pk), "label": str(version)}
    assert payload["actor"]["username"] == "owner"
    assert AuditEvent.objects.get(seq=payload["audit_seq"]).action == "version.created"
    # model.created was not subscribed to: one request only.
    assert len(receiver.requests) == 1
    wait_for(lambda: WebhookDelivery.objects.get(pk=delivery.pk).status == DeliveryStatus.SUCCEEDED, what="success")
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.response_code, delivery.last_error) == (1, 200, "")


def test_a_receiver_that_fails_twice_gets_the_third_attempt(celery_worker, allow_local, owner):
    flaky = Receiver(statuses=[500, 503, 200]).start()
    try:
        subscription = subscribe(owner, flaky.url, events=[WebhookEvent.MODEL_CREATED])
        make_model(owner, name="churn")
        delivery = wait_for(
            lambda: WebhookDelivery.objects.filter(subscription=subscription, status=DeliveryStatus.SUCCEEDED).first(),
            timeout=30,
            what="the third attempt to succeed",
        )
    finally:
        flaky.stop()
    assert delivery.attempts == 3
    assert [entry["response_code"] for entry in delivery.log] == [500, 503, 200]
    assert delivery.log[0]["error"] == "The receiver answered HTTP 500."
    assert len(flaky.requests) == 3
    # The same delivery each time, signed afresh.
    assert {r.headers["X-Arbiter-Delivery"] for r in flaky.requests} == {str(delivery.delivery_id)}
    assert all(verify(subscription.secret, r) for r in flaky.requests)


def test_retries_back_off_exponentially_and_stop_at_the_maximum(allow_local, owner):
    allow_local.WEBHOOK_MAX_ATTEMPTS = 3
    allow_local.WEBHOOK_BACKOFF_BASE = 30
    down = Receiver(statuses=[502]).start()
    try:
        subscription = subscribe(owner, down.url, events=[WebhookEvent.MODEL_CREATED])
        make_model(owner, name="churn")
        delivery = WebhookDelivery.objects.get(subscription=subscription)
        waits = [webhooks.delivery_attempt(delivery_pk=delivery.pk) for _ in range(4)]
    finally:
        down.stop()
    assert waits == [30, 60, None, None]  # the fourth call finds the delivery finished and sends nothing
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_code) == (DeliveryStatus.FAILED, 3, 502)
    assert len(down.requests) == 3


def test_send_test_pings_the_receiver_through_the_api(celery_worker, allow_local, receiver, owner):
    subscription = subscribe(owner, receiver.url, events=[WebhookEvent.MODEL_CREATED])
    response = client_for(owner).post(reverse("governance_api:webhook-test", kwargs={"pk": subscription.pk}))
    assert response.status_code == 202, response.content
    wait_for(lambda: receiver.requests, timeout=30, what="the ping")
    assert receiver.requests[0].headers["X-Arbiter-Event"] == "ping"
    assert receiver.requests[0].headers["X-Arbiter-Delivery"] == response.json()["delivery_id"]
    assert verify(subscription.secret, receiver.requests[0])
    assert AuditEvent.objects.filter(action="webhook.tested", target_id=str(subscription.pk)).count() == 1


# --- The SSRF guard -------------------------------------------------------------------------------------------

REFUSED_URLS = [
    ("http://127.0.0.1/hook", "webhook_url_private_address"),
    ("http://localhost:8000/hook", "webhook_url_private_address"),
    ("http://10.0.0.7/hook", "webhook_url_private_address"),
    ("http://192.168.1.1/hook", "webhook_url_private_address"),
    ("http://169.254.169.254/latest/meta-data/", "webhook_url_private_address"),
    ("http://[::1]/hook", "webhook_url_private_address"),
    ("http://[::ffff:127.0.0.1]/hook", "webhook_url_private_address"),
    ("http://0.0.0.0/hook", "webhook_url_private_address"),
    ("http://2130706433/hook", "webhook_url_private_address"),  # 127.0.0.1 as one number
    ("http://0x7f.1/hook", "webhook_url_private_address"),  # and in hex shorthand
    ("http://100.64.0.1/hook", "webhook_url_private_address"),
    ("http://[2002:7f00:1::]/hook", "webhook_url_private_address"),  # 6to4 embedding 127.0.0.1
    ("http://[2002:a9fe:a9fe::]/hook", "webhook_url_private_address"),  # 6to4 embedding 169.254.169.254
    ("http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/hook", "webhook_url_private_address"),  # Teredo, 127.0.0.1
    ("http://[::127.0.0.1]/hook", "webhook_url_private_address"),  # IPv4-compatible
    ("ftp://203.0.113.5/hook", "webhook_url_scheme"),
    ("file:///etc/passwd", "webhook_url_scheme"),
    ("http://user:pw@8.8.8.8/hook", "webhook_url_invalid"),
    ("http://no-such-host.invalid/hook", "webhook_url_unresolvable"),
]


@pytest.mark.parametrize(("url", "code"), REFUSED_URLS)
def test_internal_and_malformed_urls_are_refused_at_save(owner, url, code):
    with pytest.raises(InvalidInput) as refused:
        subscribe(owner, url)
    assert refused.value.code == code
    assert "url" in refused.value.fields
    assert not WebhookSubscription.objects.exists()


def test_tunnelling_addresses_are_judged_by_the_ipv4_address_they_embed():
    assert "6to4" in address_refusal(ipaddress.ip_address("2002:7f00:1::"))
    assert "6to4" in address_refusal(ipaddress.ip_address("2002:c0a8:101::"))
    assert address_refusal(ipaddress.ip_address("2002:808:808::")) is None  # 6to4 of 8.8.8.8
    assert address_refusal(ipaddress.ip_address("::ffff:8.8.8.8")) is None


def test_a_fully_qualified_loopback_name_is_refused(owner):
    """`localhost.` resolves to loopback where the resolver knows it, and not at all elsewhere (as in this
    sandbox): refused either way."""
    with pytest.raises(InvalidInput) as refused:
        subscribe(owner, "http://localhost./hook")
    assert refused.value.code in {"webhook_url_private_address", "webhook_url_unresolvable"}


def test_the_api_answers_400_with_the_code_and_the_field(owner):
    response = client_for(owner).post(
        reverse("governance_api:webhook-list"),
        {"name": "Metadata", "url": "http://169.254.169.254/latest/", "event_types": ["model.created"]},
        format="json",
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "webhook_url_private_address"
    assert "169.254.169.254" in error["fields"]["url"][0]


def test_the_form_shows_the_refusal_next_to_the_url(client, owner):
    client.force_login(owner)
    response = client.post(
        reverse("governance:webhooks"), {"name": "Local", "url": "http://[::1]:9000/", "event_types": ["ping"]}
    )
    assert response.status_code == 400
    response = client.post(
        reverse("governance:webhooks"), {"name": "Local", "url": "http://[::1]:9000/", "event_types": ["model.created"]}
    )
    assert response.status_code == 400
    form = response.context["form"]
    assert "link-local" in form.errors["url"][0] or "loopback" in form.errors["url"][0]
    assert 'aria-invalid="true"' in response.content.decode()


def test_an_administrator_allows_a_host_by_name(settings, owner):
    settings.WEBHOOK_ALLOWED_HOSTS = ["localhost"]
    assert subscribe(owner, "http://localhost:8000/hook").pk
    with pytest.raises(InvalidInput):
        subscribe(owner, "http://127.0.0.2:8000/hook")  # the name is allowed, not every loopback address


def test_the_address_is_checked_again_at_send_time(allow_local, receiver, owner, settings):
    """Saved while allowed, then the allowance is withdrawn: nothing is sent, the log says why."""
    subscription = subscribe(owner, receiver.url, events=[WebhookEvent.MODEL_CREATED])
    make_model(owner, name="churn")
    settings.WEBHOOK_ALLOWED_HOSTS = []
    delivery = WebhookDelivery.objects.get(subscription=subscription)
    assert webhooks.delivery_attempt(delivery_pk=delivery.pk) is not None  # retried later, like any failure
    delivery.refresh_from_db()
    assert receiver.requests == []
    assert delivery.response_code is None
    assert "loopback" in delivery.last_error


def test_redirects_are_not_followed(allow_local, owner):
    target = Receiver().start()
    redirector = Receiver(statuses=[302], location="http://169.254.169.254/latest/meta-data/").start()
    try:
        allow_local.WEBHOOK_MAX_ATTEMPTS = 1
        subscription = subscribe(owner, redirector.url, events=[WebhookEvent.MODEL_CREATED])
        make_model(owner, name="churn")
        delivery = WebhookDelivery.objects.get(subscription=subscription)
        webhooks.delivery_attempt(delivery_pk=delivery.pk)
        redirector.location = target.url  # even to an allowed host
        second = webhooks.webhook_subscription_test(actor=owner, subscription=subscription)
        webhooks.delivery_attempt(delivery_pk=second.pk)
    finally:
        redirector.stop()
        target.stop()
    for row in WebhookDelivery.objects.filter(subscription=subscription):
        assert (row.status, row.response_code) == (DeliveryStatus.FAILED, 302)
        assert "not followed" in row.last_error
    assert target.requests == []


# --- Which events reach whom ------------------------------------------------------------------------------------


def test_events_come_only_for_models_the_subscriber_can_see(owner, outsider, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["203.0.113.0/24"]
    subscription = subscribe(outsider, "http://203.0.113.9/hook")
    internal = make_model(owner, name="open-model", visibility=Visibility.INTERNAL)
    restricted = make_model(owner, name="secret-model", visibility=Visibility.RESTRICTED)
    make_version(owner, restricted)
    make_version(owner, internal)
    names = sorted(d.payload["model"]["name"] for d in WebhookDelivery.objects.filter(subscription=subscription))
    assert names == ["open-model", "open-model"]  # model.created and version.created of the internal model only


def test_a_model_filter_narrows_the_events(owner, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["203.0.113.0/24"]
    watched = make_model(owner, name="watched")
    other = make_model(owner, name="other")
    subscription = subscribe(owner, "http://203.0.113.9/hook", events=[WebhookEvent.VERSION_CREATED], model=watched)
    make_version(owner, other)
    make_version(owner, watched)
    deliveries = list(WebhookDelivery.objects.filter(subscription=subscription))
    assert [(d.event, d.payload["model"]["name"]) for d in deliveries] == [("version.created", "watched")]


def test_inactive_subscriptions_get_nothing(owner, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["203.0.113.0/24"]
    subscription = subscribe(owner, "http://203.0.113.9/hook")
    webhooks.webhook_subscription_update(actor=owner, subscription=subscription, data={"active": False})
    make_model(owner, name="quiet")
    assert not WebhookDelivery.objects.exists()


def test_a_rolled_back_change_sends_nothing(owner, settings, django_capture_on_commit_callbacks):
    settings.WEBHOOK_ALLOWED_HOSTS = ["203.0.113.0/24"]
    subscribe(owner, "http://203.0.113.9/hook", events=[WebhookEvent.MODEL_CREATED])
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(RuntimeError), transaction.atomic():
        make_model(owner, name="abandoned")
        assert WebhookDelivery.objects.count() == 1  # written with the change ...
        raise RuntimeError("the change fails after its event was recorded")
    assert WebhookDelivery.objects.count() == 0  # ... and gone with it
    assert callbacks == []  # nothing was enqueued

    with django_capture_on_commit_callbacks() as callbacks:
        make_model(owner, name="kept")
    assert WebhookDelivery.objects.count() == 1
    assert len(callbacks) == 1


@pytest.mark.parametrize(
    ("action", "status", "expected"),
    [
        ("artifact.validated", "valid", "artifact.validated"),
        ("artifact.validated", "rejected", "artifact.rejected"),
        ("artifact.validated", "needs_review", "artifact.rejected"),
        ("artifact.validated", "error", "artifact.rejected"),
        ("artifact.corrupted", "corrupted", "artifact.rejected"),
        ("artifact.uploaded", None, None),
        ("approval.resubmitted", None, "approval.requested"),
        ("alias.deleted", None, "alias.changed"),
        ("model.updated", None, None),
    ],
)
def test_audit_actions_map_to_webhook_events(action, status, expected):
    changes = {"status": {"before": "validating", "after": status}} if status else {}
    assert webhooks.event_type_for(AuditEvent(action=action, changes=changes)) == expected


# --- Managing subscriptions -------------------------------------------------------------------------------------


def test_each_subscription_change_records_one_audit_event(owner, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["203.0.113.0/24"]
    subscription = subscribe(owner, "http://203.0.113.9/hook")
    webhooks.webhook_subscription_update(actor=owner, subscription=subscription, data={"name": "Renamed"})
    webhooks.webhook_subscription_test(actor=owner, subscription=subscription)
    webhooks.webhook_subscription_delete(actor=owner, subscription=subscription)
    actions = list(
        AuditEvent.objects.filter(target_type="webhook", target_id=str(subscription.pk))
        .order_by("seq")
        .values_list("action", flat=True)
    )
    assert actions == ["webhook.created", "webhook.updated", "webhook.tested", "webhook.deleted"]
    created = AuditEvent.objects.get(action="webhook.created")
    assert subscription.secret not in json.dumps(created.changes)


def test_the_secret_is_shown_to_its_owner_only(owner, administrator, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["203.0.113.0/24"]
    response = client_for(owner).post(
        reverse("governance_api:webhook-list"),
        {"name": "CD", "url": "https://203.0.113.9/hook", "event_types": ["alias.changed"]},
        format="json",
    )
    assert response.status_code == 201, response.content
    secret = response.json()["secret"]
    assert secret.startswith("whsec_") and len(secret) > 40
    url = reverse("governance_api:webhook-detail", kwargs={"pk": response.json()["id"]})
    assert client_for(owner).get(url).json()["secret"] == secret
    as_admin = client_for(administrator).get(url)
    assert as_admin.status_code == 200 and as_admin.json()["secret"] is None


def test_other_peoples_subscriptions_do_not_exist_for_you(owner, teammate, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["203.0.113.0/24"]
    subscription = subscribe(owner, "http://203.0.113.9/hook")
    response = client_for(teammate).get(reverse("governance_api:webhook-detail", kwargs={"pk": subscription.pk}))
    assert response.status_code == 404
    assert client_for(teammate).get(reverse("governance_api:webhook-list")).json()["count"] == 0


def test_a_model_filter_must_be_a_model_the_owner_can_see(owner, outsider, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["203.0.113.0/24"]
    make_model(owner, name="secret-model", visibility=Visibility.RESTRICTED)
    response = client_for(outsider).post(
        reverse("governance_api:webhook-list"),
        {"name": "Spy", "url": "https://203.0.113.9/", "event_types": ["model.created"], "model": "secret-model"},
        format="json",
    )
    assert response.status_code == 400
    assert "model" in response.json()["error"]["fields"]


def test_a_patch_rechecks_the_url(owner, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["203.0.113.0/24"]
    subscription = subscribe(owner, "http://203.0.113.9/hook")
    url = reverse("governance_api:webhook-detail", kwargs={"pk": subscription.pk})
    response = client_for(owner).patch(url, {"url": "http://10.0.0.1/"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "webhook_url_private_address"
    subscription.refresh_from_db()
    assert subscription.url == "http://203.0.113.9/hook"


def test_the_detail_page_shows_the_delivery_log_and_sends_a_test_with_htmx(client, owner, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["203.0.113.0/24"]
    subscription = subscribe(owner, "http://203.0.113.9/hook")
    client.force_login(owner)
    page = client.get(subscription.get_absolute_url())
    assert page.status_code == 200
    assert "No deliveries yet" in page.content.decode()
    assert subscription.secret in page.content.decode()
    response = client.post(reverse("governance:webhook-test", kwargs={"pk": subscription.pk}), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-delivery-status="pending"' in body and "<code>ping</code>" in body
    assert 'hx-trigger="every 2s"' in body  # polls until the ping is done


# --- Query counts -------------------------------------------------------------------------------------------------


def _subscriptions_with_deliveries(owner, count: int) -> None:
    for i in range(count):
        subscription = subscribe(owner, "http://203.0.113.9/hook", name=f"hook {i}")
        for _ in range(2):
            WebhookDelivery.objects.create(
                subscription=subscription, event="ping", payload={}, delivery_id=uuid.uuid4(), response_code=500
            )


@pytest.mark.parametrize("count", [1, 12])
def test_the_webhooks_page_has_a_constant_query_count(client, owner, settings, django_assert_max_num_queries, count):
    settings.WEBHOOK_ALLOWED_HOSTS = ["203.0.113.0/24"]
    _subscriptions_with_deliveries(owner, count)
    client.force_login(owner)
    # Measured: 8 at 1, 12 and 40 subscriptions (session, user, roles, navigation counts, one list query).
    with django_assert_max_num_queries(8):
        response = client.get(reverse("governance:webhooks"))
    assert response.status_code == 200
    assert response.content.decode().count("data-webhook=") == count


@pytest.mark.parametrize("count", [1, 12])
def test_the_webhook_api_lists_have_a_constant_query_count(owner, settings, django_assert_max_num_queries, count):
    settings.WEBHOOK_ALLOWED_HOSTS = ["203.0.113.0/24"]
    _subscriptions_with_deliveries(owner, count)
    client = client_for(owner)
    with django_assert_max_num_queries(5):  # measured: 5 at 1, 12 and 40
        listed = client.get(reverse("governance_api:webhook-list"))
    assert listed.json()["count"] == count
    first = WebhookSubscription.objects.order_by("pk").first()
    with django_assert_max_num_queries(8):
        deliveries = client.get(reverse("governance_api:webhook-deliveries", kwargs={"pk": first.pk}))
    assert deliveries.json()["count"] == 2


def test_lost_deliveries_are_found_for_the_requeue(owner, settings):
    from datetime import timedelta

    from django.utils import timezone

    settings.WEBHOOK_ALLOWED_HOSTS = ["203.0.113.0/24"]
    subscription = subscribe(owner, "http://203.0.113.9/hook")
    now = timezone.now()
    lost = WebhookDelivery.objects.create(
        subscription=subscription, event="ping", payload={}, next_attempt_at=now - timedelta(hours=1)
    )
    WebhookDelivery.objects.create(subscription=subscription, event="ping", payload={}, next_attempt_at=now)
    WebhookDelivery.objects.create(
        subscription=subscription,
        event="ping",
        payload={},
        status=DeliveryStatus.FAILED,
        next_attempt_at=now - timedelta(hours=1),
    )
    assert webhooks.deliveries_to_requeue() == [lost.pk]
