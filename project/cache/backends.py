"""Cache backends for the site: Django's own Redis cache, made to treat an outage as a miss.

The cache is an accelerator, never the source of truth, so an unreachable Redis must cost speed,
not pages. Every read returns its default, every write is dropped, and ``add`` reports "not added"
(so no refresh lock is taken and nothing is enqueued for a cache that cannot store the result).
After a failure the backend does not try Redis again for ``RETRY_AFTER`` seconds, so a Redis that
hangs costs one socket timeout per process per interval, not one per cache call.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

import redis
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from django.utils.functional import cached_property
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

T = TypeVar("T")


class FailSoftRedisCache(RedisCache):
    """Django's ``RedisCache`` that degrades to misses while Redis is unreachable.

    ``OPTIONS["RETRY_AFTER"]`` (seconds, default 5) is how long to stop trying after a failure;
    every other option goes to redis-py's connection pool as usual (set ``socket_timeout`` and
    ``socket_connect_timeout`` short: a cache call should never wait long). ``incr``, ``decr`` and
    ``clear`` still raise, since silently losing a counter or a flush would be a lie.
    """

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        options = dict(params.get("OPTIONS") or {})
        self.retry_after = float(options.pop("RETRY_AFTER", 5.0))
        super().__init__(server, {**params, "OPTIONS": options})
        self._down_until = 0.0
        # For ``primary``: the first server (Django's write server) and redis-py's pool options.
        self.primary_url = (server.split(",") if isinstance(server, str) else list(server))[0]
        self.pool_options = {k: v for k, v in options.items() if k not in ("pool_class", "parser_class", "serializer")}

    def _soft(self, default: T, call: Callable[[], T]) -> T:
        if time.monotonic() < self._down_until:
            return default
        try:
            return call()
        except RedisError as exc:
            self._down_until = time.monotonic() + self.retry_after
            logger.warning("Redis cache unreachable (%s); serving misses for %.0f s.", exc, self.retry_after)
            return default

    def run(self, operation: Callable[[redis.Redis], T], default: T) -> T:
        """Run ``operation`` on the primary's redis-py client under the same fail-soft rules.

        For what Django's cache API cannot say in one round trip (a Lua script, a pipeline). The
        operation names its own keys: pass them through ``make_and_validate_key``.
        """
        return self._soft(default, lambda: operation(self.primary))

    @cached_property
    def primary(self) -> redis.Redis:
        """A redis-py client of the primary Redis, for what Django's cache API cannot say.

        Its own connection pool, one per backend instance (Django keeps one per thread), like
        Django's client, which the cache API hides.
        """
        return redis.Redis(connection_pool=redis.ConnectionPool.from_url(self.primary_url, **self.pool_options))

    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        return self._soft(default, lambda: super(FailSoftRedisCache, self).get(key, default, version))

    def get_many(self, keys: Any, version: int | None = None) -> dict[Any, Any]:
        return self._soft({}, lambda: super(FailSoftRedisCache, self).get_many(keys, version))

    def has_key(self, key: Any, version: int | None = None) -> bool:
        return self._soft(False, lambda: super(FailSoftRedisCache, self).has_key(key, version))

    def add(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        return self._soft(False, lambda: super(FailSoftRedisCache, self).add(key, value, timeout, version))

    def set(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> None:
        self._soft(None, lambda: super(FailSoftRedisCache, self).set(key, value, timeout, version))

    def set_many(self, data: dict[Any, Any], timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> list[Any]:
        return self._soft(list(data), lambda: super(FailSoftRedisCache, self).set_many(data, timeout, version))

    def touch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        return self._soft(False, lambda: super(FailSoftRedisCache, self).touch(key, timeout, version))

    def delete(self, key: Any, version: int | None = None) -> bool:
        return self._soft(False, lambda: super(FailSoftRedisCache, self).delete(key, version))

    def delete_many(self, keys: Any, version: int | None = None) -> None:
        self._soft(None, lambda: super(FailSoftRedisCache, self).delete_many(keys, version))
