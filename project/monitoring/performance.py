"""Keep per-minute latency histograms per route in the cache, for the admin's Performance page.

The page must be readable without Prometheus, yet never store a row per request (django-silk's
tables famously become the biggest in the database). So each process adds its requests into
in-memory figures (a count, 5xx errors, SQL totals and a sparse log-scale latency histogram per
series), and a background thread writes them to the cache every ``MONITORING_FLUSH_SECONDS``:

- one key per process per minute (``w:<minute>:<slot>``), claimed with ``cache.add`` so two
  processes never share one, rewritten whole at each flush (no read-modify-write, so no race);
- once a minute is two minutes old, one process (elected with ``cache.add`` on a lock key) merges
  its writers' keys into one key per minute; a few minutes after an hour ends, its 60 minutes are
  merged into one key per hour.

Every key expires (writers and minutes after two hours, hours after a day), so storage is bounded by
processes x 120 + 120 + 25 keys, each holding at most one entry per route. It works on any cache
backend with an atomic ``add``: Redis, and the embedded default's database cache.

Percentiles come from the histograms: buckets grow by 2^(1/8) (9 %), and a percentile is
interpolated inside its bucket, so it is within 9 % of the exact value at any scale.
"""

from __future__ import annotations

import atexit
import logging
import math
import os
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.db import connections

logger = logging.getLogger(__name__)

KEY_PREFIX = "monitoring:perf:v1"
WRITER_TTL = 2 * 3600
MINUTE_TTL = 2 * 3600
HOUR_TTL = 25 * 3600
LOCK_TTL = 3600
MAX_WRITERS = 64  # processes writing in one minute; more are dropped (and logged)
ROLLUP_DELAY_MINUTES = 2  # writers flush every few seconds; a minute is complete well after this
HOUR_ROLLUP_MINUTE = 5  # roll up hour h once minute 5 of hour h + 1 is complete

GAMMA = 2 ** (1 / 8)
_LOG_GAMMA = math.log(GAMMA)
_MIN_MS = 0.01


def bucket_index(milliseconds: float) -> int:
    """Return the log-scale bucket holding ``milliseconds``: bucket i is (GAMMA^(i-1), GAMMA^i]."""
    return math.ceil(math.log(max(milliseconds, _MIN_MS)) / _LOG_GAMMA - 1e-9)


class Figures:
    """What one series (a route and method, or a task) did in some span of time; addable."""

    __slots__ = ("buckets", "count", "duration_ms", "errors", "queries", "sql_ms")

    def __init__(self) -> None:
        self.count = 0
        self.errors = 0
        self.duration_ms = 0.0
        self.queries = 0
        self.sql_ms = 0.0
        self.buckets: dict[int, int] = {}

    def add(self, duration_ms: float, *, error: bool, queries: int = 0, sql_ms: float = 0.0) -> None:
        self.count += 1
        self.errors += error
        self.duration_ms += duration_ms
        self.queries += queries
        self.sql_ms += sql_ms
        index = bucket_index(duration_ms)
        self.buckets[index] = self.buckets.get(index, 0) + 1

    def merge(self, other: Figures) -> None:
        self.count += other.count
        self.errors += other.errors
        self.duration_ms += other.duration_ms
        self.queries += other.queries
        self.sql_ms += other.sql_ms
        for index, count in other.buckets.items():
            self.buckets[index] = self.buckets.get(index, 0) + count

    def percentile(self, fraction: float) -> float | None:
        """Return the latency below which ``fraction`` of the requests fell, in milliseconds."""
        if not self.count:
            return None
        rank = fraction * self.count
        seen = 0
        for index in sorted(self.buckets):
            count = self.buckets[index]
            if seen + count >= rank:
                low, high = GAMMA ** (index - 1), GAMMA**index
                return low + (high - low) * max(rank - seen, 0) / count
            seen += count
        return GAMMA ** max(self.buckets)

    def to_list(self) -> list[Any]:
        return [self.count, self.errors, self.duration_ms, self.queries, self.sql_ms, dict(self.buckets)]

    @classmethod
    def from_list(cls, data: list[Any]) -> Figures:
        figures = cls()
        figures.count, figures.errors, figures.duration_ms, figures.queries, figures.sql_ms, figures.buckets = data
        figures.buckets = dict(figures.buckets)
        return figures


Snapshot = dict[str, Figures]


def merge_snapshots(snapshots: Iterable[dict[str, list[Any]] | Snapshot]) -> Snapshot:
    """Add up per-series figures, as stored in the cache (lists) or in memory."""
    merged: Snapshot = {}
    for snapshot in snapshots:
        for series, data in snapshot.items():
            figures = data if isinstance(data, Figures) else Figures.from_list(data)
            if series in merged:
                merged[series].merge(figures)
            else:
                merged[series] = Figures.from_list(figures.to_list())
    return merged


def _stored(snapshot: Snapshot) -> dict[str, list[Any]]:
    return {series: figures.to_list() for series, figures in snapshot.items()}


def writer_key(minute: int, slot: int) -> str:
    return f"{KEY_PREFIX}:w:{minute}:{slot}"


def minute_key(minute: int) -> str:
    return f"{KEY_PREFIX}:m:{minute}"


def hour_key(hour: int) -> str:
    return f"{KEY_PREFIX}:h:{hour}"


def _lock_key(kind: str, number: int) -> str:
    return f"{KEY_PREFIX}:lock:{kind}:{number}"


class PerformanceRecorder:
    """Add requests and tasks up per minute in this process; write them to the cache in the background."""

    def __init__(self, *, cache_alias: str = "default", clock: Callable[[], float] = time.time) -> None:
        self.cache_alias = cache_alias
        self.clock = clock
        # Called every second by the background thread and by each flush (the request metrics hand
        # their pending totals to Prometheus).
        self.before_flush: list[Callable[[], None]] = []
        self._reset()
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        # After a fork (gunicorn, Celery's prefork pool) a child starts empty with its own thread.
        self._lock = threading.Lock()
        self._minutes: dict[int, Snapshot] = {}
        self._slots: dict[int, int] = {}
        self._rolled_up_to: int | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    @property
    def cache(self) -> Any:
        return caches[self.cache_alias]

    def record(self, series: str, duration_ms: float, *, error: bool, queries: int = 0, sql_ms: float = 0.0) -> None:
        """Count one request or task; cheap (a lock and a few additions), never touches the cache."""
        minute = int(self.clock() // 60)
        with self._lock:
            snapshot = self._minutes.get(minute)
            if snapshot is None:
                snapshot = self._minutes[minute] = {}
            figures = snapshot.get(series)
            if figures is None:
                figures = snapshot[series] = Figures()
            figures.add(duration_ms, error=error, queries=queries, sql_ms=sql_ms)
        if self._thread is None:
            self._start_thread()

    def unflushed(self, minute: int, series: str) -> Figures | None:
        """This process's figures for ``series`` in ``minute``, if not yet written to the cache."""
        with self._lock:
            return self._minutes.get(minute, {}).get(series)

    def has_unflushed(self) -> bool:
        """Whether this process holds figures not yet written to the cache."""
        with self._lock:
            return bool(self._minutes)

    def _start_thread(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._run, name="performance-flush", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        # Wake every second for the hooks (Prometheus totals), and every MONITORING_FLUSH_SECONDS
        # for the cache.
        flush_due = time.monotonic() + settings.MONITORING_FLUSH_SECONDS
        while not self._stop.wait(min(1.0, settings.MONITORING_FLUSH_SECONDS)):
            try:
                if time.monotonic() >= flush_due:
                    flush_due = time.monotonic() + settings.MONITORING_FLUSH_SECONDS
                    self.flush()
                else:
                    self._run_hooks()
            except Exception:  # a cache outage must not kill the thread; the next flush retries
                logger.warning("could not write performance figures to the cache", exc_info=True)
            finally:
                # The database cache opens a connection in this thread; give it back.
                connections.close_all()

    def _run_hooks(self) -> None:
        for hook in self.before_flush:
            hook()

    def flush(self) -> None:
        """Write this process's figures to the cache, then roll up finished minutes and hours."""
        self._run_hooks()
        now_minute = int(self.clock() // 60)
        with self._lock:
            pending = {minute: _stored(snapshot) for minute, snapshot in self._minutes.items()}
            # A past minute gets its final write now; the current one stays and keeps growing.
            self._minutes = {m: s for m, s in self._minutes.items() if m >= now_minute}
        for minute, stored in sorted(pending.items()):
            self._write(minute, stored)
        self._slots = {m: s for m, s in self._slots.items() if m >= now_minute}
        self.roll_up(now_minute)

    def _write(self, minute: int, stored: dict[str, list[Any]]) -> None:
        slot = self._slots.get(minute)
        if slot is not None:
            self.cache.set(writer_key(minute, slot), stored, WRITER_TTL)
            return
        # Start probing at a slot picked by the pid so that most processes claim one on the first try.
        first = os.getpid() % MAX_WRITERS
        for offset in range(MAX_WRITERS):
            slot = (first + offset) % MAX_WRITERS
            if self.cache.add(writer_key(minute, slot), stored, WRITER_TTL):
                self._slots[minute] = slot
                return
        logger.warning("more than %d processes wrote performance figures in minute %d; dropped", MAX_WRITERS, minute)

    def roll_up(self, now_minute: int) -> None:
        """Merge each complete minute's writers into one key, and each complete hour's minutes into one."""
        last_complete = now_minute - ROLLUP_DELAY_MINUTES
        start = last_complete if self._rolled_up_to is None else self._rolled_up_to + 1
        for minute in range(max(start, last_complete - 60), last_complete + 1):
            if self.cache.add(_lock_key("m", minute), 1, LOCK_TTL):
                self.cache.set(minute_key(minute), _stored(self._merge_writers([minute])[minute]), MINUTE_TTL)
            if minute % 60 == HOUR_ROLLUP_MINUTE and self.cache.add(_lock_key("h", minute // 60 - 1), 1, LOCK_TTL):
                hour = minute // 60 - 1
                minutes = self.load_minutes(hour * 60, hour * 60 + 59)
                self.cache.set(hour_key(hour), _stored(merge_snapshots(minutes.values())), HOUR_TTL)
        self._rolled_up_to = last_complete

    def _merge_writers(self, minutes: list[int]) -> dict[int, Snapshot]:
        keys = {writer_key(minute, slot): minute for minute in minutes for slot in range(MAX_WRITERS)}
        found = self.cache.get_many(list(keys))
        by_minute: dict[int, list[dict[str, list[Any]]]] = {minute: [] for minute in minutes}
        for key, stored in found.items():
            by_minute[keys[key]].append(stored)
        return {minute: merge_snapshots(stored) for minute, stored in by_minute.items()}

    def load_minutes(self, first: int, last: int) -> dict[int, Snapshot]:
        """Return each minute's merged figures, from its rolled-up key or, if not rolled up yet, its writers."""
        minutes = list(range(first, last + 1))
        found = self.cache.get_many([minute_key(minute) for minute in minutes])
        result = {
            minute: merge_snapshots([found[minute_key(minute)]]) for minute in minutes if minute_key(minute) in found
        }
        missing = [minute for minute in minutes if minute not in result]
        if missing:
            result.update(self._merge_writers(missing))
        return result

    def load_hours(self, first: int, last: int) -> dict[int, Snapshot]:
        """Return each hour's merged figures, from its rolled-up key or else its minutes."""
        hours = list(range(first, last + 1))
        found = self.cache.get_many([hour_key(hour) for hour in hours])
        result = {hour: merge_snapshots([found[hour_key(hour)]]) for hour in hours if hour_key(hour) in found}
        for hour in hours:
            if hour not in result:
                result[hour] = merge_snapshots(self.load_minutes(hour * 60, hour * 60 + 59).values())
        return result

    def stop(self) -> None:
        self._stop.set()


def _flush_at_exit() -> None:
    # A worker that exits (gunicorn's max_requests, a deploy) writes what it has not flushed yet.
    if recorder.has_unflushed():
        try:
            recorder.flush()
        except Exception:
            logger.warning("could not write performance figures at exit", exc_info=True)


recorder = PerformanceRecorder()
atexit.register(_flush_at_exit)
