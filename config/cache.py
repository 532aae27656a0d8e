"""Django's Redis cache backend, keeping one `redis.Redis` client per connection pool.

Also the bookkeeping of an outage of that cache (`shared_cache_outage`): the API throttle falls back to counters in
the process's own memory while Redis does not answer, instead of failing every request.

Django's `RedisCacheClient.get_client` builds a new `redis.Redis` object for every cache operation (the
connections themselves are pooled); with redis-py 8 that costs about 0.2 ms each, and the API throttle makes two
operations per request. A client is thread-safe and only wraps its pool, so it is made once and reused. Django
already keeps one cache backend per thread, so this changes nothing else.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# What a shared cache raises when it cannot be reached (redis-py's errors do not derive from OSError).
CACHE_ERRORS = (RedisError, OSError)


class ReusingRedisCacheClient(RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = ReusingRedisCacheClient

    def window_hit(self, current: str, previous: str, timeout: int) -> tuple[int, int]:
        """Count one hit in the counter `current` (kept for `timeout` seconds) and read `previous`, in one round
        trip: (previous count, current count after this hit). For the API's rate limits."""
        current_key, previous_key = self.make_and_validate_key(current), self.make_and_validate_key(previous)
        pipe = self._cache.get_client(write=True).pipeline(transaction=False)
        pipe.incr(current_key).expire(current_key, timeout).get(previous_key)
        count, _, before = pipe.execute()
        return int(before or 0), int(count)


class SharedCacheOutage:
    """Whether this process currently considers the shared cache down, and since when.

    After a failure the cache is left alone for `retry_seconds` (so a cache that times out does not slow
    every request down), then tried again. The start and the end of an outage are each logged once.
    """

    def __init__(self, retry_seconds: float = 5.0):
        self.retry_seconds = retry_seconds
        self.since: datetime | None = None
        self._retry_at = 0.0
        self._lock = threading.Lock()

    def should_try(self) -> bool:
        return self.since is None or time.monotonic() >= self._retry_at

    def failed(self, exc: BaseException) -> None:
        with self._lock:
            self._retry_at = time.monotonic() + self.retry_seconds
            if self.since is None:
                self.since = datetime.now(UTC)
                logger.error(
                    "shared cache unreachable (%s): API rate limits are counted per process until it is back", exc
                )

    def recovered(self) -> None:
        if self.since is None:
            return
        with self._lock:
            if self.since is not None:
                logger.warning("shared cache reachable again after an outage since %s", self.since.isoformat())
                self.since = None


shared_cache_outage = SharedCacheOutage()
