"""API rate limits against a real cache: per token, per user, per address for anonymous requests and failed
tokens, the `uploads` scope, and the 429 answer in the API's error shape with Retry-After."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from rest_framework.response import Response
from rest_framework.test import APIClient, APIRequestFactory
from rest_framework.views import APIView

from registry import services
from registry.api.throttling import UPLOAD_THROTTLES, SlidingWindowThrottle
from tests.conftest import bearer
from tests.factories import make_model

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["locmem", "redis"])
def throttle_cache(request, settings):
    """The default cache, as local memory or as Redis (a fresh key prefix, so runs never share counters)."""
    if request.param == "redis":
        url = request.getfixturevalue("redis_url")
        settings.CACHES = {
            "default": {
                "BACKEND": "config.cache.RedisCache",
                "LOCATION": url,
                "KEY_PREFIX": f"test-{uuid.uuid4().hex}",
                "TIMEOUT": 120,
            }
        }
    return request.param


def rates(settings, **rates):
    current = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {**current, **rates}}


def assert_throttled(response):
    assert response.status_code == 429, response.content
    error = response.json()["error"]
    assert error["code"] == "throttled" and "throttled" in error["message"].lower()
    assert 0 < int(response["Retry-After"]) <= 60


def test_each_token_has_its_own_budget(throttle_cache, settings, owner):
    rates(settings, user="3/minute")
    _, first = services.token_create(actor=owner, user=owner, name="a", scopes=["read"])
    _, second = services.token_create(actor=owner, user=owner, name="b", scopes=["read"])
    api = APIClient()
    api.credentials(**bearer(first))
    assert [api.get("/api/v1/models/").status_code for _ in range(3)] == [200, 200, 200]
    assert_throttled(api.get("/api/v1/models/"))
    api.credentials(**bearer(second))
    assert api.get("/api/v1/models/").status_code == 200, "another pipeline's token is not starved"


def test_the_budget_slides_across_window_boundaries(throttle_cache):
    """Ten a minute: the eleventh request in a minute waits; half a minute into the next window, half of the
    last window still counts; Retry-After says when the next request will pass, and it does."""
    clock = [600.0]  # the start of a one-minute window

    class TenAMinute(SlidingWindowThrottle):
        rate = "10/minute"
        timer = staticmethod(lambda: clock[0])

        def get_cache_key(self, request, view):
            return f"slide-{uuid_key}"

    uuid_key = uuid.uuid4().hex

    def attempt(at: float) -> tuple[bool, float]:
        clock[0] = at
        throttle = TenAMinute()
        allowed = throttle.allow_request(None, None)
        return allowed, (0 if allowed else throttle.wait())

    assert [attempt(600 + i)[0] for i in range(10)] == [True] * 10
    allowed, wait = attempt(630)
    assert not allowed and 0 < wait <= 30, "only the next window frees the budget"
    # At 660 + 30 the sliding window covers half the last window: 11 * 0.5 = 5.5 of 10 spent, 4 more pass.
    assert [attempt(690)[0] for _ in range(5)] == [True, True, True, True, False]
    allowed, wait = attempt(690)
    assert not allowed and 1 <= wait < 30
    assert attempt(690 + wait)[0], "Retry-After is honest: waiting that long is enough"


def test_session_requests_are_throttled_per_user(settings, owner, teammate):
    rates(settings, user="2/minute")
    api = APIClient()
    api.force_login(owner)
    assert [api.get("/api/v1/models/").status_code for _ in range(2)] == [200, 200]
    assert_throttled(api.get("/api/v1/models/"))
    api.force_login(teammate)
    assert api.get("/api/v1/models/").status_code == 200


def test_anonymous_requests_and_failed_tokens_share_the_address_budget(throttle_cache, settings, owner):
    rates(settings, anon="3/minute")
    api = APIClient()
    assert api.get("/api/v1/models/").status_code == 401
    api.credentials(**bearer("arb_00000000_guess"))
    assert api.get("/api/v1/models/").status_code == 401
    api.credentials(HTTP_AUTHORIZATION="Bearer arb_00000000_guess", HTTP_X_FORWARDED_FOR="203.0.113.7")
    assert api.get("/api/v1/models/").status_code == 401
    assert_throttled(api.get("/api/v1/models/"))
    api.credentials(HTTP_X_FORWARDED_FOR="198.51.100.1")  # a forged address does not buy a new budget
    assert_throttled(api.get("/api/v1/models/"))
    other_address = APIClient(REMOTE_ADDR="192.0.2.10")
    assert other_address.get("/api/v1/models/").status_code == 401

    _, secret = services.token_create(actor=owner, user=owner, name="a", scopes=["read"])
    api.credentials(**bearer(secret))
    assert api.get("/api/v1/models/").status_code == 200, "a valid token spends its own budget, not the address's"


class UploadView(APIView):
    throttle_classes = UPLOAD_THROTTLES
    throttle_scope = "uploads"

    def post(self, request):
        return Response({"ok": True})


def test_uploads_scope_is_tighter_and_per_token(throttle_cache, settings, owner):
    rates(settings, uploads="2/minute", user="100/minute")
    _, first = services.token_create(actor=owner, user=owner, name="a", scopes=["write"])
    _, second = services.token_create(actor=owner, user=owner, name="b", scopes=["write"])
    factory, view = APIRequestFactory(), UploadView.as_view()

    def upload(secret):
        response = view(factory.post("/upload/", HTTP_AUTHORIZATION=f"Bearer {secret}"))
        response.render()
        return response

    assert [upload(first).status_code for _ in range(2)] == [200, 200]
    throttled = upload(first)
    assert throttled.status_code == 429 and "Retry-After" in throttled
    assert upload(second).status_code == 200
    api = APIClient()
    api.credentials(**bearer(first))
    assert api.get("/api/v1/models/").status_code == 200, "other endpoints keep the general budget"


def test_default_rates_let_a_deployment_system_poll(owner, api):
    """A CD system polling a model every second, or a burst of a hundred calls, is far inside the defaults."""
    make_model(owner, name="credit-scoring")
    _, secret = services.token_create(actor=owner, user=owner, name="cd", scopes=["read"])
    api.credentials(**bearer(secret))
    statuses = {api.get("/api/v1/models/credit-scoring/").status_code for _ in range(100)}
    assert statuses == {200}


def _cache_backend(**env: str) -> str:
    base = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "CACHE_URL")}
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            "from django.conf import settings; print(settings.CACHES['default']['BACKEND'])",
        ],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_cache_is_redis_when_configured_and_local_memory_otherwise():
    assert _cache_backend() == "django.core.cache.backends.locmem.LocMemCache"
    assert _cache_backend(REDIS_URL="redis://127.0.0.1:6379/3") == "config.cache.RedisCache"
