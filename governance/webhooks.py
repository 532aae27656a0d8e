"""Webhooks: subscriptions (services), the events they receive (from the audit trail), and delivery.

Events come from the audit trail, so a webhook fires for exactly what was recorded, whichever path made the
change (browser, API, MLflow layer, admin, commands). `on_audit_event` is registered as a listener of
`governance.audit.audit_record`: it runs inside the transaction of the change, writes one `WebhookDelivery`
per matching subscription whose owner may see the model, and enqueues the sends with
`transaction.on_commit`, so nothing is sent for a change that rolls back. Delivery rows are bookkeeping and
record no audit event; creating, changing, deleting and testing a subscription do.

The wire format (headers, signature, retries) is described in docs/webhooks.md.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.http import Http404
from django.utils import timezone

from governance.audit import audit_record, diff, format_timestamp, snapshot
from governance.audit_actions import AuditAction
from governance.choices import PING_EVENT, DeliveryStatus, WebhookEvent
from governance.models import AuditEvent, WebhookDelivery, WebhookSubscription
from governance.webhook_transport import UnsafeDestination, check_url, post
from registry import permissions
from registry.exceptions import InvalidInput
from registry.models import RegisteredModel
from registry.permissions import Action

logger = logging.getLogger(__name__)

SUBSCRIPTION_AUDIT_FIELDS = ("name", "url", "event_types", "model", "active")

# Audit actions that are webhook events as they stand; artifact verdicts are sorted below.
_EVENT_OF_ACTION = {
    AuditAction.MODEL_CREATED: WebhookEvent.MODEL_CREATED,
    AuditAction.VERSION_CREATED: WebhookEvent.VERSION_CREATED,
    AuditAction.APPROVAL_REQUESTED: WebhookEvent.APPROVAL_REQUESTED,
    AuditAction.APPROVAL_RESUBMITTED: WebhookEvent.APPROVAL_REQUESTED,  # a new round of the same request
    AuditAction.APPROVAL_DECIDED: WebhookEvent.APPROVAL_DECIDED,
    AuditAction.VERSION_STAGE_CHANGED: WebhookEvent.VERSION_STAGE_CHANGED,  # promotions, rollbacks and break-glass too
    AuditAction.ALIAS_CHANGED: WebhookEvent.ALIAS_CHANGED,
    AuditAction.ALIAS_DELETED: WebhookEvent.ALIAS_CHANGED,
    AuditAction.ARTIFACT_CORRUPTED: WebhookEvent.ARTIFACT_REJECTED,
}
_USABLE_VERDICT = "valid"


def event_type_for(event: AuditEvent) -> str | None:
    """The webhook event an audit event is, if any. A finished validation is `artifact.validated` when the
    artifact is usable (`valid`) and `artifact.rejected` for every other verdict (rejected, needs review,
    error): either way the payload's `data.status.after` names the verdict."""
    if event.action == AuditAction.ARTIFACT_VALIDATED:
        status = (event.changes.get("status") or {}).get("after")
        if status is None:
            return None
        return WebhookEvent.ARTIFACT_VALIDATED if status == _USABLE_VERDICT else WebhookEvent.ARTIFACT_REJECTED
    return _EVENT_OF_ACTION.get(event.action)


# --- Events into deliveries ---------------------------------------------------------------------------------


def _payload(*, event_type: str, delivery: WebhookDelivery, event: AuditEvent | None, model) -> dict[str, Any]:
    body: dict[str, Any] = {
        "event": event_type,
        "delivery_id": str(delivery.delivery_id),
        "occurred_at": format_timestamp(event.timestamp if event else timezone.now()),
    }
    if model is not None:
        body["model"] = {"id": model.pk, "name": model.name, "url": settings.SITE_URL + model.get_absolute_url()}
    if event is not None:
        body.update(
            {
                "audit_seq": event.seq,
                "action": event.action,
                "actor": {"type": event.actor_type, "username": event.actor_label},
                "target": {"type": event.target_type, "id": event.target_id, "label": event.target_label},
                "data": event.changes,
            }
        )
    return body


def _any_active_subscription() -> bool:
    """One plain SQL round trip, no ORM compilation: this runs inside every recorded event's transaction, and
    most installations have few or no subscriptions."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT 1 FROM {WebhookSubscription._meta.db_table} WHERE active LIMIT 1")  # noqa: S608
        return cursor.fetchone() is not None


def _subscribers(event_type: str, model_id: int) -> list[WebhookSubscription]:
    """Active subscriptions to `event_type` on the model (or on every model): one query, none of the
    permission checks yet (and only a cheap existence check when there are no active subscriptions)."""
    if not _any_active_subscription():
        return []
    candidates = (
        WebhookSubscription.objects.filter(active=True, created_by__is_active=True)
        .filter(Q(model__isnull=True) | Q(model_id=model_id))
        .select_related("created_by")
    )
    return [subscription for subscription in candidates if event_type in subscription.event_types]


def _may_receive(subscription: WebhookSubscription, model: RegisteredModel) -> bool:
    """The owner may still hold webhooks and may see the model the event is about."""
    owner = subscription.created_by
    return permissions.can_manage_webhooks(owner) and permissions.can(owner, Action.VIEW, model)


def _enqueue_after_commit(deliveries: Iterable[WebhookDelivery]) -> None:
    ids = [delivery.pk for delivery in deliveries]
    if ids:
        transaction.on_commit(lambda: [enqueue(pk) for pk in ids])


def enqueue(delivery_pk: int, *, countdown: float = 0) -> bool:
    """Hand a delivery to the workers. If the broker is unreachable it stays pending for `webhooks_requeue`."""
    from governance.tasks import deliver_webhook

    try:
        deliver_webhook.apply_async((delivery_pk,), countdown=countdown or None, retry=False)
    except Exception:  # noqa: BLE001  (any broker failure: the periodic requeue picks it up)
        logger.warning("could not enqueue webhook delivery %s; it stays pending for the requeue", delivery_pk)
        return False
    return True


def on_audit_event(event: AuditEvent) -> None:
    """Listener of `audit_record`: queue a delivery for every subscription the event concerns."""
    event_type = event_type_for(event)
    if event_type is None or event.model_id is None:
        return
    subscriptions = _subscribers(event_type, event.model_id)
    if not subscriptions:
        return  # the common case: one query per recorded event that is a webhook event
    model = RegisteredModel.objects.filter(pk=event.model_id).first()
    if model is None:
        return
    deliveries = []
    for subscription in subscriptions:
        if not _may_receive(subscription, model):
            continue
        delivery = WebhookDelivery(subscription=subscription, event=event_type, next_attempt_at=timezone.now())
        delivery.payload = _payload(event_type=event_type, delivery=delivery, event=event, model=model)
        deliveries.append(delivery)
    if deliveries:
        WebhookDelivery.objects.bulk_create(deliveries)
        _enqueue_after_commit(deliveries)


# --- Sending ------------------------------------------------------------------------------------------------


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=` and the hex HMAC-SHA256 of `{timestamp}.{body}` under the subscription's secret."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def backoff(attempt: int) -> float:
    """Seconds to wait after failed attempt number `attempt` (1-based): base, 2 x base, 4 x base ..."""
    return settings.WEBHOOK_BACKOFF_BASE * 2 ** (attempt - 1)


def delivery_attempt(*, delivery_pk: int) -> float | None:
    """Make the next attempt of a pending delivery and record how it went. Returns the seconds to wait
    before the next attempt, or None when the delivery is finished (succeeded, failed for good, or already
    handled by another worker: the attempt is claimed with a conditional UPDATE, so a redelivered task
    does not send twice)."""
    delivery = WebhookDelivery.objects.select_related("subscription").filter(pk=delivery_pk).first()
    if delivery is None or delivery.status != DeliveryStatus.PENDING:
        return None
    attempt = delivery.attempts + 1
    claimed = WebhookDelivery.objects.filter(
        pk=delivery.pk, status=DeliveryStatus.PENDING, attempts=delivery.attempts
    ).update(attempts=attempt, updated_at=timezone.now())
    if not claimed:
        return None
    subscription = delivery.subscription
    if not subscription.active and delivery.event != PING_EVENT:
        _finish(delivery, attempt, status=DeliveryStatus.FAILED, code=None, error="The subscription is inactive.")
        return None

    body = json.dumps(delivery.payload, sort_keys=True, separators=(",", ":")).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Arbiter-Webhooks/1",
        "X-Arbiter-Event": delivery.event,
        "X-Arbiter-Delivery": str(delivery.delivery_id),
        "X-Arbiter-Timestamp": timestamp,
        "X-Arbiter-Signature": signature(subscription.secret, timestamp, body),
    }
    outcome = post(subscription.url, body, headers, timeout=settings.WEBHOOK_TIMEOUT)
    if outcome.ok:
        _finish(delivery, attempt, status=DeliveryStatus.SUCCEEDED, code=outcome.status, error="")
        return None
    if attempt >= settings.WEBHOOK_MAX_ATTEMPTS:
        _finish(delivery, attempt, status=DeliveryStatus.FAILED, code=outcome.status, error=outcome.error)
        return None
    wait = backoff(attempt)
    _finish(delivery, attempt, status=DeliveryStatus.PENDING, code=outcome.status, error=outcome.error, wait=wait)
    return wait


def _finish(delivery: WebhookDelivery, attempt: int, *, status: str, code: int | None, error: str, wait=None) -> None:
    now = timezone.now()
    log = [*delivery.log, {"attempt": attempt, "at": format_timestamp(now), "response_code": code, "error": error}]
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=status,
        response_code=code,
        last_error=error,
        log=log,
        updated_at=now,
        next_attempt_at=now + timedelta(seconds=wait) if wait is not None else None,
        delivered_at=now if status == DeliveryStatus.SUCCEEDED else None,
    )


def deliveries_to_requeue() -> list[int]:
    """Pending deliveries whose next attempt is well overdue: their task was lost (broker down at enqueue,
    a worker killed). Periodic (`webhooks_requeue`)."""
    overdue = timezone.now() - timedelta(seconds=max(300, settings.WEBHOOK_BACKOFF_BASE * 4))
    return list(
        WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lt=overdue).values_list(
            "pk", flat=True
        )[:500]
    )


# --- Subscriptions ------------------------------------------------------------------------------------------


def _new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def webhook_get(*, user, pk: int) -> WebhookSubscription:
    """One subscription the user may manage, or 404 (other people's subscriptions do not exist for them)."""
    permissions.require_manage_webhooks(user)
    subscription = (
        permissions.restrict_webhooks(WebhookSubscription.objects.select_related("model", "created_by"), user)
        .filter(pk=pk)
        .first()
    )
    if subscription is None:
        raise Http404("No such webhook.")
    return subscription


def _validated(subscription: WebhookSubscription) -> None:
    fields: dict[str, list[str]] = {}
    code = "invalid_webhook"
    subscription.name = (subscription.name or "").strip()
    if not subscription.name:
        fields["name"] = ["Give the webhook a name."]
    try:
        check_url(subscription.url or "")
    except UnsafeDestination as exc:
        fields["url"] = [exc.message]
        code = exc.code
    chosen = list(dict.fromkeys(subscription.event_types or []))
    unknown = [e for e in chosen if e not in WebhookEvent.values]
    if not chosen:
        fields["event_types"] = ["Choose at least one event."]
    elif unknown:
        fields["event_types"] = [f"Unknown event: {', '.join(map(str, unknown))}."]
    subscription.event_types = [e for e in WebhookEvent.values if e in chosen]
    if subscription.model is not None and not permissions.can(subscription.created_by, Action.VIEW, subscription.model):
        fields["model"] = ["No such model, or the webhook's owner cannot see it."]
    if fields:
        message = fields["url"][0] if "url" in fields else "Correct the fields shown."
        raise InvalidInput(message, code=code, fields=fields)


@transaction.atomic
def webhook_subscription_create(
    *,
    actor,
    name: str,
    url: str,
    event_types: list[str],
    model: RegisteredModel | None = None,
    active: bool = True,
) -> WebhookSubscription:
    """Subscribe `url` to events, owned by `actor`, with a newly generated signing secret."""
    permissions.require_manage_webhooks(actor, write=True)
    subscription = WebhookSubscription(
        name=name,
        url=(url or "").strip(),
        event_types=list(event_types or []),
        model=model,
        active=active,
        created_by=actor,
        secret=_new_secret(),
    )
    _validated(subscription)
    subscription.save()
    after = snapshot(subscription, SUBSCRIPTION_AUDIT_FIELDS)
    audit_record(actor=actor, action=AuditAction.WEBHOOK_CREATED, target=subscription, changes=diff({}, after))
    return subscription


@transaction.atomic
def webhook_subscription_update(*, actor, subscription: WebhookSubscription, data: dict[str, Any]):
    """Change a subscription's name, URL, events, model filter or active flag. The URL is checked again."""
    permissions.require_manage_webhooks(actor, write=True)
    subscription = webhook_get(user=actor, pk=subscription.pk)
    subscription = WebhookSubscription.objects.select_for_update().select_related("created_by").get(pk=subscription.pk)
    before = snapshot(subscription, SUBSCRIPTION_AUDIT_FIELDS)
    for field in SUBSCRIPTION_AUDIT_FIELDS:
        if field in data:
            setattr(subscription, field, data[field])
    if "url" in data:
        subscription.url = (subscription.url or "").strip()
    _validated(subscription)
    changes = diff(before, snapshot(subscription, SUBSCRIPTION_AUDIT_FIELDS))
    if not changes:
        return subscription
    subscription.updated_at = timezone.now()
    subscription.save()
    audit_record(actor=actor, action=AuditAction.WEBHOOK_UPDATED, target=subscription, changes=changes)
    return subscription


@transaction.atomic
def webhook_subscription_delete(*, actor, subscription: WebhookSubscription) -> None:
    """Remove a subscription and its delivery log."""
    permissions.require_manage_webhooks(actor, write=True)
    subscription = webhook_get(user=actor, pk=subscription.pk)
    before = snapshot(subscription, SUBSCRIPTION_AUDIT_FIELDS)
    audit_record(actor=actor, action=AuditAction.WEBHOOK_DELETED, target=subscription, changes=diff(before, {}))
    subscription.delete()


@transaction.atomic
def webhook_subscription_test(*, actor, subscription: WebhookSubscription, note: str = "") -> WebhookDelivery:
    """Send a `ping` event to the subscription now (also when it is inactive), through the same delivery
    path, retries included, as real events."""
    permissions.require_manage_webhooks(actor, write=True)
    subscription = webhook_get(user=actor, pk=subscription.pk)
    delivery = WebhookDelivery(subscription=subscription, event=PING_EVENT, next_attempt_at=timezone.now())
    delivery.payload = _payload(event_type=PING_EVENT, delivery=delivery, event=None, model=None)
    delivery.payload["subscription"] = {"id": subscription.pk, "name": subscription.name}
    if note:
        delivery.payload["note"] = note[:200]
    delivery.save()
    audit_record(
        actor=actor,
        action=AuditAction.WEBHOOK_TESTED,
        target=subscription,
        changes={"delivery_id": str(delivery.delivery_id)},
    )
    _enqueue_after_commit([delivery])
    return delivery
