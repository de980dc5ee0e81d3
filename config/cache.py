"""The shared cache (Redis) as an optimisation, never a point of failure: when Redis is down
or slow, reads miss and writes are skipped, with a warning in the log, and every page is
computed as if nothing had been cached (GET /dashboard/ must not become an error page)."""

import logging

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)
UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, OSError)


class ForgivingRedisCache(RedisCache):
    """Django's Redis cache, degrading to "nothing cached" when the server is unreachable."""

    def _forgive(self, operation: str, default, call, *args, **kwargs):
        try:
            return call(*args, **kwargs)
        except UNAVAILABLE as error:
            logger.warning("Cache unavailable (%s skipped): %s", operation, error)
            return default

    def get(self, key, default=None, version=None):
        return self._forgive("get", default, super().get, key, default, version)

    def get_many(self, keys, version=None):
        return self._forgive("get_many", {}, super().get_many, keys, version)

    def has_key(self, key, version=None):
        return self._forgive("has_key", False, super().has_key, key, version)

    def set(self, key, value, timeout=None, version=None, **kwargs):
        return self._forgive("set", None, super().set, key, value, timeout, version)

    def add(self, key, value, timeout=None, version=None):
        return self._forgive("add", False, super().add, key, value, timeout, version)

    def set_many(self, data, timeout=None, version=None):
        return self._forgive("set_many", list(data), super().set_many, data, timeout, version)

    def touch(self, key, timeout=None, version=None):
        return self._forgive("touch", False, super().touch, key, timeout, version)

    def delete(self, key, version=None):
        return self._forgive("delete", False, super().delete, key, version)

    def delete_many(self, keys, version=None):
        return self._forgive("delete_many", None, super().delete_many, keys, version)

    def incr(self, key, delta=1, version=None):
        # A counter that cannot be read is reported missing, as Django does for absent keys.
        try:
            return super().incr(key, delta, version)
        except UNAVAILABLE as error:
            logger.warning("Cache unavailable (incr skipped): %s", error)
            raise ValueError(f"Key {key!r} not found (cache unavailable)") from error

    def clear(self):
        return self._forgive("clear", None, super().clear)
