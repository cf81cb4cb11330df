"""Serve always-there cached values and refresh them in the background with Celery (the talk's cache).

A function decorated with ``@background_cached(refresh_after=...)`` keeps its result in the cache as
an envelope ``(refreshed_at, value)`` that does not expire on a short timer (a long timeout only
bounds garbage). A read then never waits for the function once a value exists:

- fresh (younger than ``refresh_after``): return it;
- stale: return it anyway, and enqueue ``project.refresh_background_cache`` to recompute it, at most
  once per key per refresh window: an atomic lock (``cache.add``, i.e. Redis ``SET NX EX``) guards
  the enqueue and the task releases it after writing the new value;
- miss (the first-ever read, or after ``invalidate``): per use, either compute in the request
  (``on_miss="compute"``) or return ``default`` at once and enqueue the refresh
  (``on_miss="default"``).

Arguments must be JSON-safe (``None``, bool, int, finite float, str, lists/tuples, dicts with str
keys) plus ``uuid.UUID``, ``datetime.date`` and time-zone-aware ``datetime.datetime``; anything else
raises ``TypeError`` at the call. They are encoded once into a canonical JSON string; that string is
both what the key is hashed from and what the task carries to the worker, so web and worker derive
the same key by construction. The function always receives the *decoded* arguments, in the request
as in the worker, so a UUID stays a UUID and a tuple is a list in both places.

See docs/background-cache.md for the failure modes this avoids and how it is measured.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import importlib
import json
import logging
import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Literal, ParamSpec, TypeVar

from django.conf import settings
from django.core.cache import BaseCache, caches
from prometheus_client import REGISTRY

from project.broker import publish
from project.monitoring.metrics import BACKGROUND_CACHE_EVENTS, BACKGROUND_CACHE_REFRESH_SECONDS

logger = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

# Bump when the envelope's shape changes, so old entries are simply never read again.
KEY_PREFIX = "bgcache:1"
EVENTS = ("hit", "stale", "miss", "refresh_enqueued", "refresh_done", "refresh_failed", "enqueue_failed")
OnMiss = Literal["compute", "default"]

_REGISTRY: dict[str, BackgroundCachedFunction[Any, Any]] = {}


# --- Arguments -------------------------------------------------------------------------------


def encode_arguments(args: tuple[Any, ...], kwargs: dict[str, Any], *, function: str = "") -> str:
    """Return the canonical JSON for a call's arguments, or raise ``TypeError`` naming the bad one."""
    payload = {
        "args": [_encode(value, f"{function} argument {index}") for index, value in enumerate(args)],
        "kwargs": {name: _encode(value, f"{function} argument {name!r}") for name, value in kwargs.items()},
    }
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def decode_arguments(encoded: str) -> tuple[list[Any], dict[str, Any]]:
    """Return ``(args, kwargs)`` from ``encode_arguments``' output, with UUIDs and dates restored."""
    payload = json.loads(encoded)
    return [_decode(value) for value in payload["args"]], {k: _decode(v) for k, v in payload["kwargs"].items()}


def _encode(value: Any, where: str) -> Any:
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return int(value)  # an IntEnum member encodes as its number
    if isinstance(value, float):
        if not math.isfinite(value):
            raise TypeError(f"{where} is {value!r}; background-cached arguments must be finite numbers.")
        return value
    if isinstance(value, uuid.UUID | dt.date):
        return _encode_tagged(value, where)
    if isinstance(value, list | tuple):
        return [_encode(item, f"{where}[{index}]") for index, item in enumerate(value)]
    if isinstance(value, dict):
        return _encode_dict(value, where)
    raise TypeError(
        f"{where} is a {type(value).__module__}.{type(value).__qualname__}, which is not JSON-safe. "
        "Pass plain values (for a model instance, its pk) so the worker can rebuild the same call."
    )


def _encode_tagged(value: uuid.UUID | dt.date, where: str) -> dict[str, str]:
    """Encode a value JSON has no type for as ``{"$type": text}``, which ``_decode`` turns back."""
    if isinstance(value, uuid.UUID):
        return {"$uuid": str(value)}
    if isinstance(value, dt.datetime):
        if value.utcoffset() is None:
            raise TypeError(f"{where} is a naive datetime; pass a time-zone-aware one so the key is unambiguous.")
        # Equal instants in different zones are the same argument, so they share one key.
        return {"$datetime": value.astimezone(dt.UTC).isoformat()}
    return {"$date": value.isoformat()}


def _encode_dict(value: dict[Any, Any], where: str) -> dict[str, Any]:
    encoded = {}
    for key, item in value.items():
        if not isinstance(key, str):
            raise TypeError(f"{where} has a {type(key).__name__} key; dictionary keys must be strings.")
        if key.startswith("$"):
            raise TypeError(f"{where} has the key {key!r}; keys starting with '$' are reserved.")
        encoded[key] = _encode(item, f"{where}[{key!r}]")
    return encoded


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(item) for item in value]
    if isinstance(value, dict):
        if len(value) == 1:
            ((tag, raw),) = value.items()
            if tag == "$uuid":
                return uuid.UUID(raw)
            if tag == "$datetime":
                return dt.datetime.fromisoformat(raw)
            if tag == "$date":
                return dt.date.fromisoformat(raw)
        return {key: _decode(item) for key, item in value.items()}
    return value


# --- Reads -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cached(Generic[R]):
    """One read of a background-cached value: the value, when it was computed, and how it was found."""

    value: R
    # None when ``value`` is the use's default (a miss with ``on_miss="default"``).
    computed_at: dt.datetime | None
    state: Literal["fresh", "stale", "miss"]
    # True when this read enqueued the refresh (exactly one read per stale window does).
    refresh_enqueued: bool = False

    @property
    def is_stale(self) -> bool:
        return self.state == "stale"


def _as_datetime(timestamp: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(timestamp, tz=dt.UTC)


class BackgroundCachedFunction(Generic[P, R]):
    """A function whose results are served from the cache and refreshed by a Celery worker.

    Make one with ``@background_cached(...)``. Calling it returns the value; ``get()`` returns a
    ``Cached`` with the time it was computed; ``refresh_now()``, ``enqueue_refresh()`` and
    ``invalidate()`` serve writes that must show.
    """

    def __init__(
        self,
        func: Callable[P, R],
        *,
        refresh_after: float,
        on_miss: OnMiss,
        default: Any,
        version: int,
        cache_alias: str,
        lock_timeout: float | None,
    ) -> None:
        if refresh_after <= 0:
            raise ValueError("refresh_after must be a positive number of seconds.")
        if on_miss not in ("compute", "default"):
            raise ValueError(f"on_miss must be 'compute' or 'default', not {on_miss!r}.")
        if func.__module__ == "__main__" or "<locals>" in func.__qualname__:
            # The worker finds the function by importing its module; it could not find this one.
            raise TypeError(
                f"{func.__qualname__}: background-cached functions must be defined at a module's top level."
            )
        self.func = func
        self.name = f"{func.__module__}:{func.__qualname__}"
        self.refresh_after = refresh_after
        self.on_miss = on_miss
        self.default = default
        self.version = version
        self.cache_alias = cache_alias
        self._lock_timeout = lock_timeout
        functools.update_wrapper(self, func)
        _REGISTRY[self.name] = self

    def __repr__(self) -> str:
        return f"<background_cached {self.name} refresh_after={self.refresh_after}>"

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        return self.get(*args, **kwargs).value

    # -- public API ---------------------------------------------------------------------------

    def key(self, *args: P.args, **kwargs: P.kwargs) -> str:
        """Return the cache key for these arguments (the worker derives the same one)."""
        return self._key(self._encode(args, kwargs))

    def get(self, *args: P.args, **kwargs: P.kwargs) -> Cached[R]:
        """Return the cached value (fresh or stale), enqueueing a refresh when it is stale or missing."""
        encoded = self._encode(args, kwargs)
        key = self._key(encoded)
        cache = self.cache
        envelope = self._read(cache, key)
        if envelope is None:
            self._record("miss")
            if self.on_miss == "compute":
                refreshed_at, value = self._compute_and_store(cache, key, encoded)
                return Cached(value, _as_datetime(refreshed_at), "miss")
            return Cached(self.default, None, "miss", self._enqueue_once(cache, key, encoded, seen=None))
        refreshed_at, value = envelope
        if time.time() - refreshed_at < self.refresh_after:
            self._record("hit")
            return Cached(value, _as_datetime(refreshed_at), "fresh")
        self._record("stale")
        enqueued = self._enqueue_once(cache, key, encoded, seen=refreshed_at)
        return Cached(value, _as_datetime(refreshed_at), "stale", enqueued)

    def refresh_now(self, *args: P.args, **kwargs: P.kwargs) -> Cached[R]:
        """Recompute in this process and store it, for a write that must show on the next read."""
        encoded = self._encode(args, kwargs)
        refreshed_at, value = self._compute_and_store(self.cache, self._key(encoded), encoded)
        return Cached(value, _as_datetime(refreshed_at), "fresh")

    def enqueue_refresh(self, *args: P.args, **kwargs: P.kwargs) -> bool:
        """Ask the worker to recompute now, fresh or not; reads keep the old value meanwhile.

        Returns False when a refresh is already queued for this key (it will pick up the change
        only if it has not started yet) or the broker is unreachable.
        """
        encoded = self._encode(args, kwargs)
        return self._enqueue_once(self.cache, self._key(encoded), encoded, seen=None, force=True)

    def invalidate(self, *args: P.args, **kwargs: P.kwargs) -> None:
        """Forget the value, so the next read is a miss (computed then, or the default).

        A refresh already running may still store a value computed before your write; call this
        (or ``refresh_now``) from ``transaction.on_commit`` so at least the read it triggers is new.
        """
        key = self._key(self._encode(args, kwargs))
        self.cache.delete_many([key, self._lock_key(key)])

    # -- the worker's side --------------------------------------------------------------------

    def refresh(self, encoded: str) -> bool:
        """Recompute from encoded arguments and store; on failure keep the old value and log.

        Called by the Celery task with the very string the web request encoded, so the key is the
        one the request read. Returns whether a new value was stored.
        """
        cache = self.cache
        key = self._key(encoded)
        started = time.perf_counter()
        try:
            self._compute_and_store(cache, key, encoded)
        except Exception:
            self._record("refresh_failed")
            # The lock stays until it expires, so a broken function is retried once per lock
            # window instead of by every request that sees the stale value.
            logger.exception("Refreshing %s (key %s) failed; keeping the old value.", self.name, key)
            return False
        finally:
            BACKGROUND_CACHE_REFRESH_SECONDS.labels(function=self.name).observe(time.perf_counter() - started)
        # Released only after the new value is written: see _enqueue_once's second read.
        cache.delete(self._lock_key(key))
        self._record("refresh_done")
        return True

    # -- internals ----------------------------------------------------------------------------

    @property
    def cache(self) -> BaseCache:
        return caches[self.cache_alias]

    @property
    def lock_timeout(self) -> int:
        seconds = self._lock_timeout if self._lock_timeout is not None else settings.BACKGROUND_CACHE_LOCK_SECONDS
        return max(1, math.ceil(seconds))

    def _encode(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
        return encode_arguments(args, kwargs, function=self.name)

    def _key(self, encoded: str) -> str:
        digest = hashlib.sha256(encoded.encode()).hexdigest()[:32]
        return f"{KEY_PREFIX}:{self.name}:v{self.version}:{digest}"

    @staticmethod
    def _lock_key(key: str) -> str:
        return f"{key}:lock"

    @staticmethod
    def _read(cache: BaseCache, key: str) -> tuple[float, Any] | None:
        envelope = cache.get(key)
        if isinstance(envelope, tuple) and len(envelope) == 2 and isinstance(envelope[0], float):
            return envelope
        return None  # nothing, or something this code did not write: treat as a miss

    def _compute_and_store(self, cache: BaseCache, key: str, encoded: str) -> tuple[float, R]:
        args, kwargs = decode_arguments(encoded)
        value = self.func(*args, **kwargs)
        refreshed_at = time.time()
        cache.set(key, (refreshed_at, value), timeout=settings.BACKGROUND_CACHE_KEEP_SECONDS)
        return refreshed_at, value

    def _enqueue_once(
        self, cache: BaseCache, key: str, encoded: str, *, seen: float | None, force: bool = False
    ) -> bool:
        from project.cache.tasks import refresh_background_cache

        lock_key = self._lock_key(key)
        if not cache.add(lock_key, time.time(), timeout=self.lock_timeout):
            return False  # a refresh is already queued or running for this key
        if not force:
            # A refresh may have finished between our read and our lock: it writes the value and
            # then releases the lock, so reading again now sees its value. Without this second
            # read, a request that read the old value just before the write would enqueue a
            # duplicate refresh just after the release.
            current = self._read(cache, key)
            if current is not None and (seen is None or current[0] > seen):
                cache.delete(lock_key)
                return False
        try:
            publish(refresh_background_cache, self.name, encoded)
        except Exception:
            self._record("enqueue_failed")
            logger.exception("Could not enqueue a refresh of %s (key %s); serving the cached value.", self.name, key)
            # Keep the lock a little while, so one request per key per interval pays the broker's
            # timeout instead of every request.
            cache.touch(lock_key, max(1, math.ceil(settings.BACKGROUND_CACHE_BROKER_RETRY_SECONDS)))
            return False
        self._record("refresh_enqueued")
        return True

    def _record(self, event: str) -> None:
        BACKGROUND_CACHE_EVENTS.labels(function=self.name, event=event).inc()


def background_cached(
    *,
    refresh_after: float,
    on_miss: OnMiss = "compute",
    default: Any = None,
    version: int = 1,
    cache_alias: str = "default",
    lock_timeout: float | None = None,
) -> Callable[[Callable[P, R]], BackgroundCachedFunction[P, R]]:
    """Serve the decorated function's results from the cache, refreshed by Celery when stale.

    ``refresh_after``: seconds after which a value is stale (still served, and refreshed once).
    ``on_miss``: ``"compute"`` computes the first-ever value in the request; ``"default"`` returns
    ``default`` at once (treat it as read-only) and lets the worker compute it.
    ``version``: bump it when the function's result changes shape, to stop reading old values.
    ``lock_timeout``: seconds after which a queued refresh that never finished (lost message, dead
    worker) is given up and may be enqueued again; default ``BACKGROUND_CACHE_LOCK_SECONDS``.
    """

    def decorate(func: Callable[P, R]) -> BackgroundCachedFunction[P, R]:
        return BackgroundCachedFunction(
            func,
            refresh_after=refresh_after,
            on_miss=on_miss,
            default=default,
            version=version,
            cache_alias=cache_alias,
            lock_timeout=lock_timeout,
        )

    return decorate


def lookup(name: str) -> BackgroundCachedFunction[Any, Any]:
    """Return the background-cached function called ``module:qualname``, importing its module.

    The worker may not have imported the module yet; only names that the import then registers
    are accepted, so a message cannot make the worker call anything else.
    """
    module, sep, _ = name.partition(":")
    if not sep or not all(part.isidentifier() for part in module.split(".")):
        raise LookupError(f"{name!r} is not a background-cached function name (module:qualname).")
    if name not in _REGISTRY:
        importlib.import_module(module)
    try:
        return _REGISTRY[name]
    except KeyError:
        raise LookupError(f"{name!r} is not a background-cached function.") from None


# --- Counters --------------------------------------------------------------------------------


def event_counts(function: BackgroundCachedFunction[Any, Any] | str) -> dict[str, int]:
    """Return this process's counts of each event for one function (hit, stale, miss, ...).

    The counts live in the Prometheus counter ``background_cache_events_total``; this reads it for
    tests and debugging. Across processes, read the exported metrics instead.
    """
    name = function if isinstance(function, str) else function.name
    counts = {}
    for event in EVENTS:
        sample = REGISTRY.get_sample_value("background_cache_events_total", {"function": name, "event": event})
        counts[event] = int(sample or 0)
    return counts
