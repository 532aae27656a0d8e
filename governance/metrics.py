"""`GET /metrics`: Prometheus text format, for the addresses in METRICS_ALLOWED_NETWORKS or an administrator's
unrestricted API token with the `admin` scope; anything else answers 404.

Besides the process counters (django-prometheus's requests, latencies per view, database and cache timings, and
config.metrics), `RegistryCollector` reads the registry's state at each scrape, so every web instance reports
the same values: artifacts by status, the validation queue's depth and the age of the oldest artifact waiting
for it, the audit chain head, the age of the last successful verification and of the newest checkpoint,
approval requests open by age, assessments expiring within 30 days and webhook deliveries failing.
"""

from __future__ import annotations

import ipaddress
import json
import time
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db.models import Count, Max, Min, Q
from django.http import Http404, HttpResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from rest_framework.exceptions import AuthenticationFailed

from config.metrics import process_registry
from governance import checkpoints
from governance.audit import client_ip
from governance.choices import AssessmentStatus, DeliveryStatus
from governance.models import ApprovalRequest, Assessment, AuditEvent, AuditVerification, WebhookDelivery
from registry import permissions
from registry.authentication import authenticate_token
from registry.choices import ArtifactStatus, TokenScope
from registry.models import Artifact

CHECKPOINT_AGE_CACHE_SECONDS = 60
OPEN_REQUEST_AGES = (("under_1d", 0, 1), ("1d_to_7d", 1, 7), ("over_7d", 7, None))


def _gauge(name: str, documentation: str, value: float | None, labels: dict[str, str] | None = None):
    family = GaugeMetricFamily(name, documentation, labels=list(labels or {}))
    if value is not None:
        family.add_metric(list((labels or {}).values()), value)
    return family


class RegistryCollector:
    """Gauges read from the database, the broker and the artifact storage at each scrape."""

    def __init__(self):
        self._checkpoint_age: tuple[float, float | None] = (0.0, None)  # (read at, newest checkpoint's time)

    def collect(self):
        now = timezone.now()
        counts = dict(Artifact.objects.values_list("status").annotate(n=Count("pk")).order_by())
        artifacts = GaugeMetricFamily("arbiter_artifacts", "Artifacts by validation status.", labels=["status"])
        for status in ArtifactStatus.values:
            artifacts.add_metric([status], counts.get(status, 0))
        yield artifacts

        waiting = Artifact.objects.filter(status__in=[ArtifactStatus.PENDING, ArtifactStatus.VALIDATING])
        oldest = waiting.aggregate(oldest=Min("uploaded_at"))["oldest"]
        yield _gauge(
            "arbiter_validation_oldest_waiting_seconds",
            "Age of the oldest artifact still pending or validating (0 when none waits).",
            (now - oldest).total_seconds() if oldest else 0,
        )
        yield _gauge(
            "arbiter_validation_queue_depth",
            "Tasks waiting in the broker's validation queue (absent when the broker cannot be read).",
            _queue_depth(),
        )

        yield _gauge(
            "arbiter_audit_head_seq",
            "Sequence number of the newest audit event.",
            AuditEvent.objects.aggregate(head=Max("seq"))["head"] or 0,
        )
        verified = AuditVerification.objects.filter(ok=True).aggregate(at=Max("ran_at"))["at"]
        yield _gauge(
            "arbiter_audit_verification_age_seconds",
            "Seconds since the audit chain last verified OK (absent if it never did).",
            (now - verified).total_seconds() if verified else None,
        )
        latest = AuditVerification.objects.order_by("-ran_at").values_list("ok", flat=True).first()
        yield _gauge(
            "arbiter_audit_verification_ok",
            "1 if the latest audit verification passed, 0 if it found a break.",
            None if latest is None else int(latest),
        )
        checkpoint_time = self._newest_checkpoint_time()
        yield _gauge(
            "arbiter_audit_checkpoint_age_seconds",
            "Seconds since the newest audit checkpoint was written (absent if none was).",
            None if checkpoint_time is None else time.time() - checkpoint_time,
        )

        opened = ApprovalRequest.objects.filter(status="open").aggregate(
            **{
                label: Count(
                    "pk",
                    filter=Q(submitted_at__lte=now - timedelta(days=low))
                    & (Q() if high is None else Q(submitted_at__gt=now - timedelta(days=high))),
                )
                for label, low, high in OPEN_REQUEST_AGES
            }
        )
        requests = GaugeMetricFamily(
            "arbiter_approval_requests_open", "Open approval requests by time since submission.", labels=["age"]
        )
        for label, _, _ in OPEN_REQUEST_AGES:
            requests.add_metric([label], opened[label])
        yield requests

        today = timezone.localdate()
        yield _gauge(
            "arbiter_assessments_expiring_30d",
            "Approved risk assessments whose validity ends within 30 days.",
            Assessment.objects.filter(
                status=AssessmentStatus.APPROVED, valid_until__gte=today, valid_until__lte=today + timedelta(days=30)
            ).count(),
        )
        deliveries = WebhookDelivery.objects.aggregate(
            failed=Count("pk", filter=Q(status=DeliveryStatus.FAILED)),
            retrying=Count("pk", filter=Q(status=DeliveryStatus.PENDING, attempts__gt=0)),
        )
        failing = GaugeMetricFamily(
            "arbiter_webhook_deliveries_failing",
            "Webhook deliveries that gave up (failed) or whose last attempt failed and will be retried (retrying).",
            labels=["state"],
        )
        for state, value in deliveries.items():
            failing.add_metric([state], value)
        yield failing

    def _newest_checkpoint_time(self) -> float | None:
        """The newest checkpoint's time, re-read from the storage at most once a minute (listing may be slow)."""
        read_at, value = self._checkpoint_age
        if time.monotonic() - read_at < CHECKPOINT_AGE_CACHE_SECONDS and read_at:
            return value
        value = None
        store = checkpoints.storage()
        try:
            _, files = store.listdir(checkpoints.PREFIX)
            newest = max((f for f in files if f.endswith(".json")), default=None)
            if newest is not None:
                with store.open(f"{checkpoints.PREFIX}/{newest}", "rb") as handle:
                    written = parse_datetime(json.loads(handle.read())["time"])
                value = written.timestamp() if written else None
        except (OSError, ValueError, KeyError):
            value = None
        self._checkpoint_age = (time.monotonic(), value)
        return value


def _queue_depth() -> int | None:
    from config.celery import app

    if app.conf.task_always_eager:
        return 0
    try:
        with app.connection_for_read() as connection:
            connection.ensure_connection(max_retries=1, timeout=2)
            if connection.transport.driver_type != "redis":
                return None
            return connection.default_channel.client.llen(app.conf.validation_queue)
    except Exception:  # noqa: BLE001  (broker down: leave the gauge out, /health/ready says why)
        return None


_arbiter_registry = CollectorRegistry(auto_describe=False)
_arbiter_registry.register(RegistryCollector())


def _allowed_networks():
    return [ipaddress.ip_network(net, strict=False) for net in settings.METRICS_ALLOWED_NETWORKS]


def may_scrape(request) -> bool:
    """From an allowed network, or with an administrator's unrestricted `admin` token."""
    try:
        address = ipaddress.ip_address(client_ip(request))
    except ValueError:
        address = None
    if address is not None and any(address in network for network in _allowed_networks()):
        return True
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret:
        return False
    try:
        token = authenticate_token(secret.strip(), ip=client_ip(request))
    except AuthenticationFailed:
        return False
    return token.model_id is None and token.has_scope(TokenScope.ADMIN) and permissions.is_administrator(token.user)


@login_not_required
def metrics(request):
    if request.method != "GET" or not may_scrape(request):
        raise Http404
    body = generate_latest(process_registry()) + generate_latest(_arbiter_registry)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
