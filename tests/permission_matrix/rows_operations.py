"""Matrix rows for operations: the health endpoints answer everyone (they say nothing about the registry's
content); /metrics answers only allowed networks and administrators' unrestricted admin tokens, so every
persona here gets 404 (METRICS_ALLOWED_NETWORKS is empty by default; tests/ops/test_health_metrics.py covers
the allowed cases)."""

from tests.permission_matrix import Endpoint


def _everyone(persona: str, visibility: str) -> int:
    return 200


def _nobody(persona: str, visibility: str) -> int:
    return 404


def _no_persona(persona: str) -> bool:
    return False


ROWS = [
    Endpoint("health-live", model_scoped=False, expect=_everyone, anonymous=200),
    Endpoint("health-ready", model_scoped=False, expect=_everyone, anonymous=200),
    Endpoint("metrics", api=True, action=_no_persona, model_scoped=False, expect=_nobody, anonymous=404),
]
