"""Fixtures for the operations tests."""

from __future__ import annotations

import pytest

from config.cache import shared_cache_outage
from registry.api import throttling


@pytest.fixture
def outage_state():
    """Every test starts with the shared cache believed up and empty fallback counters, and retries at once."""
    previous = shared_cache_outage.retry_seconds
    shared_cache_outage.since, shared_cache_outage.retry_seconds = None, 0
    throttling._FALLBACK_CACHE.clear()
    yield shared_cache_outage
    shared_cache_outage.since, shared_cache_outage.retry_seconds = None, previous
    throttling._FALLBACK_CACHE.clear()


@pytest.fixture
def eager_tasks():
    """Tasks run in-process for this test, even where REDIS_URL is set (as in CI)."""
    from config.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield app
    app.conf.task_always_eager = previous
