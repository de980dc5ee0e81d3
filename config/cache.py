"""The shared cache (Redis) as an optimisation, never a point of failure: when Redis is down
or slow, reads miss and writes are skipped, with a warning in the log, and every page is
computed as if nothing had been cached (GET /dashboard/ must not become an error page)."""

import logging
import time

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)
# Any Redis failure (unreachable, timed out, read-only after a failover, out of memory).
UNAVAILABLE = (RedisError, OSError)
PAUSE = 10.0  # seconds without trying Redis after a failure: no connect timeout per call


class ForgivingRedisCache(RedisCache):
    """Django's Redis cache, degrading to "nothing cached" when the server fails; after a
    failure it is left alone for PAUSE seconds, so a dead server costs one timeout, not one
    per cache call."""

    _down_until = 0.0

    def _forgive(self, operation: str, default, call, *args, **kwargs):
        if time.monotonic() < self._down_until:
            return default
        try:
            return call(*args, **kwargs)
        except UNAVAILABLE as error:
            self._down_until = time.monotonic() + PAUSE
            logger.warning(
                "Cache unavailable (%s skipped; Redis left alone for %d s): %s",
                operation,
                PAUSE,
                error,
            )
            return default

    def get(self, key, default=None, version=None):
        return self._forgive("get", default, super().get, key, default, version)

    def get_many(self, keys, version=None):
        return self._forgive("get_many", {}, super().get_many, keys, version)

    def has_key(self, key, version=None):
        return self._forgive("has_key", False, super().has_key, key, version)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None, **kwargs):
        return self._forgive("set", None, super().set, key, value, timeout, version)

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._forgive("add", False, super().add, key, value, timeout, version)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self._forgive("set_many", list(data), super().set_many, data, timeout, version)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._forgive("touch", False, super().touch, key, timeout, version)

    def delete(self, key, version=None):
        return self._forgive("delete", False, super().delete, key, version)

    def delete_many(self, keys, version=None):
        return self._forgive("delete_many", None, super().delete_many, keys, version)

    def incr(self, key, delta=1, version=None):
        # A counter that cannot be read is reported missing, as Django does for absent keys.
        missing = ValueError(f"Key {key!r} not found (cache unavailable)")
        result = self._forgive("incr", missing, super().incr, key, delta, version)
        if result is missing:
            raise missing
        return result

    def clear(self):
        return self._forgive("clear", None, super().clear)
