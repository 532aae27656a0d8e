"""Twenty pipelines registering versions of the same model at the same moment, on real PostgreSQL
connections: numbers 1..20, no duplicates, no gaps, and the audit chain stays linear."""

import threading

import pytest
from django.db import connection, connections

from governance.audit import audit_verify
from governance.models import AuditEvent
from registry import services
from registry.models import ModelVersion
from tests.factories import make_model

PIPELINES = 20


@pytest.mark.django_db(transaction=True)
def test_concurrent_registrations_get_distinct_gapless_numbers(postgres, owner):
    model = make_model(owner, name="contended")
    barrier = threading.Barrier(PIPELINES)
    errors: list[BaseException] = []

    def pipeline():
        try:
            barrier.wait(timeout=30)
            services.version_register(actor=owner, model=model, source="runs:/x")
        except BaseException as exc:  # noqa: BLE001  (reported by the assertion below)
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=pipeline) for _ in range(PIPELINES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not errors, errors
    numbers = sorted(ModelVersion.objects.filter(model=model).values_list("version", flat=True))
    assert numbers == list(range(1, PIPELINES + 1))
    model.refresh_from_db()
    assert model.version_counter == PIPELINES and model.latest_version == PIPELINES
    assert AuditEvent.objects.filter(action="version.created").count() == PIPELINES
    assert audit_verify().ok
    assert connection.vendor == "postgresql"
