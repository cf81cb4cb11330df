"""Send reads to a streaming replica when that is safe, and everything else to the primary.

Django's own docs call their example primary/replica router flawed: it has no answer to
replication lag. This one reads from a replica only when all of these hold:

- the code runs in a *read scope* that allows it: a safe (GET/HEAD) request opened by
  ``project.replicas.middleware.ReplicaRoutingMiddleware``, or a Celery task that opted in with
  ``@shared_task(replica_reads=True)``. Outside a scope (shell, commands, tests) reads use the primary;
- the scope has not written (read-your-writes inside one request or task), and the client is not
  pinned to the primary by the signed cookie its last write left (read-your-writes across requests);
- the primary's connection is not inside ``transaction.atomic`` and no ``primary_db()`` is open;
- the model is not one whose reads decide who the user is (``REPLICA_PRIMARY_MODELS``: sessions,
  auth, the user model), so a user who just logged in never looks logged out;
- the replica answered its last health check, and its replay lag is under ``REPLICA_MAX_LAG``
  (measured at most every ``REPLICA_LAG_CHECK_SECONDS``, per process).

A replica that fails (cannot connect, or its connection breaks mid-query) is marked down for
``REPLICA_DOWN_SECONDS`` and the read is run again on the primary instead of raising. State lives in
``contextvars``, so concurrent requests in threads or asyncio tasks never see each other's choices.
"""

from __future__ import annotations

import contextlib
import math
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, InterfaceError, OperationalError, connections
from django.db.models import Model

from project.replicas.lag import measure_replay_lag

__all__ = [
    "PrimaryReplicaRouter",
    "ReadScope",
    "current_scope",
    "primary_db",
    "read_scope",
    "replica_alias",
    "replica_lag_seconds",
]


@dataclass
class ReadScope:
    """Where one request's or task's reads may go; shared by the code running on its behalf."""

    replica_by_default: bool
    """Route ordinary reads (through the router) to a replica."""
    pinned: bool = False
    """This client wrote recently: every read must see the primary's data."""
    wrote: bool = False
    """The scope itself wrote through the router (session saves excepted)."""
    replica: str | None = None
    """The replica chosen for this scope, once, at its first read."""
    chosen: bool = False


_scope: ContextVar[ReadScope | None] = ContextVar("db_read_scope", default=None)
_force_primary: ContextVar[bool] = ContextVar("db_force_primary", default=False)


def current_scope() -> ReadScope | None:
    """Return the read scope of the running request or task, if any."""
    return _scope.get()


@contextlib.contextmanager
def read_scope(*, replica_by_default: bool, pinned: bool = False) -> Iterator[ReadScope]:
    """Open a read scope (one request, one task) for the code inside the ``with`` block."""
    scope = ReadScope(replica_by_default=replica_by_default, pinned=pinned)
    token = _scope.set(scope)
    try:
        yield scope
    finally:
        _scope.reset(token)


@contextlib.contextmanager
def primary_db() -> Iterator[None]:
    """Send every read inside the block, or the function decorated with ``@primary_db()``, to the primary.

    Use it where code must see the latest committed data even in a GET, e.g. a check that guards
    a write. Each use (and each call of a decorated function) gets its own context token.
    """
    token = _force_primary.set(True)
    try:
        yield
    finally:
        _force_primary.reset(token)


# --- Replica health, per process ---------------------------------------------------------------


@dataclass
class _Health:
    checked_at: float = -math.inf
    lag: float | None = None
    down_until: float = -math.inf


_health: dict[str, _Health] = {}
_health_lock = threading.Lock()
_probing: set[str] = set()


def _health_of(alias: str) -> _Health:
    with _health_lock:
        return _health.setdefault(alias, _Health())


def mark_down(alias: str) -> None:
    """Stop choosing ``alias`` for ``REPLICA_DOWN_SECONDS`` (it failed to answer)."""
    health = _health_of(alias)
    health.down_until = time.monotonic() + settings.REPLICA_DOWN_SECONDS
    health.lag = None
    health.checked_at = time.monotonic()


def reset_health() -> None:
    """Forget every replica's cached health (tests, and after changing the replica settings)."""
    with _health_lock:
        _health.clear()


def replica_lag_seconds(alias: str) -> float | None:
    """Return the replica's replay lag in seconds, ``math.inf`` if it cannot tell, ``None`` if unreachable.

    Measured by ``project.replicas.lag`` on this thread's connection to ``alias`` (0 when the alias
    points at a primary, or the replica has replayed all it received).
    """
    try:
        _drop_dead_connection(alias)
        with connections[alias].cursor() as cursor:
            return measure_replay_lag(cursor).lag_seconds
    except DatabaseError:
        return None


def _usable(alias: str) -> bool:
    """Say whether ``alias`` is up and caught up, re-measuring its lag when the cached figure is old."""
    health = _health_of(alias)
    now = time.monotonic()
    if now < health.down_until:
        return False
    if now - health.checked_at >= settings.REPLICA_LAG_CHECK_SECONDS:
        with _health_lock:
            probe = alias not in _probing  # one thread measures; the others use the last figure
            _probing.add(alias)
        if probe:
            try:
                lag = replica_lag_seconds(alias)
                if lag is None:
                    mark_down(alias)
                    return False
                health.lag, health.checked_at = lag, time.monotonic()
            finally:
                with _health_lock:
                    _probing.discard(alias)
    return health.lag is not None and health.lag <= settings.REPLICA_MAX_LAG


def _drop_dead_connection(alias: str) -> None:
    """Close this thread's connection to ``alias`` if it no longer works, so the next use reconnects."""
    connection = connections[alias]
    # Django checks a persistent connection once per request, at its first query; do it now, while
    # a dead one can still send the scope to the primary instead of failing that query.
    connection.close_if_health_check_failed()
    # Outside requests (tasks, commands) that check ran once: replace a connection that failed since.
    if connection.connection is not None and connection.errors_occurred and not connection.is_usable():
        connection.close()


def _connect(alias: str) -> bool:
    """Make sure this thread holds a working connection to ``alias``, and retry failed reads on the primary."""
    connection = connections[alias]
    try:
        _drop_dead_connection(alias)
        connection.ensure_connection()
    except DatabaseError:
        mark_down(alias)
        return False
    if _retry_on_primary not in connection.execute_wrappers:
        # First, never last: Django's execute_wrapper() context manager pops the *last* wrapper on
        # exit, so appending while someone's wrapper is active would remove ours and leave theirs.
        connection.execute_wrappers.insert(0, _retry_on_primary)
    return True


def _pick_replica() -> str | None:
    candidates = [alias for alias in settings.REPLICA_DATABASES if _usable(alias)]
    random.shuffle(candidates)  # spread the load when there are several
    for alias in candidates:
        if _connect(alias):
            return alias
    return None


def _primary_only_now() -> bool:
    """Say whether reads must see the primary right now, whatever the model."""
    if _force_primary.get():
        return True
    scope = _scope.get()
    if scope is not None and (scope.pinned or scope.wrote):
        return True
    # Inside a transaction on the primary: its reads must see its own uncommitted writes. This
    # also keeps Django's TestCase (which wraps each test in atomic) on the primary.
    return connections[DEFAULT_DB_ALIAS].in_atomic_block


def replica_alias() -> str | None:
    """Return the replica that code may read slightly stale data from now, or ``None`` for the primary.

    ``None`` when no replica is configured or healthy, inside a transaction or ``primary_db()``,
    or when this request or task wrote or is pinned. Within a scope the choice is made once.
    """
    if not settings.REPLICA_DATABASES or _primary_only_now():
        return None
    scope = _scope.get()
    if scope is None:
        return _pick_replica()
    if not scope.chosen:
        scope.replica, scope.chosen = _pick_replica(), True
    elif scope.replica is not None and time.monotonic() < _health_of(scope.replica).down_until:
        scope.replica = None  # it failed during this scope: the rest of the scope uses the primary
    return scope.replica


def _retry_on_primary(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
    """Run a read again on the primary when the replica's connection fails under it.

    Installed on replica connections only. The Django cursor the ORM holds is pointed at a primary
    cursor that ran the same SQL, so the caller fetches the primary's rows and never sees the error.
    """
    try:
        return execute(sql, params, many, context)
    except (OperationalError, InterfaceError):
        replica = context["connection"]
        raw = replica.connection
        broken = raw is None or raw.closed or getattr(raw, "broken", False)
        if many or not broken or replica.in_atomic_block:
            raise  # a query error (not a lost server), or inside a transaction: not ours to hide
        mark_down(replica.alias)
        wrapper = context["cursor"]
        primary_cursor = connections[DEFAULT_DB_ALIAS].cursor()
        result = primary_cursor.execute(sql, params)
        wrapper.cursor, wrapper.db = primary_cursor.cursor, primary_cursor.db
        return result


# --- The router --------------------------------------------------------------------------------


def _is_primary_model(model: type[Model]) -> bool:
    meta = model._meta
    # Django's database cache routes a stand-in model whose _meta has only app_label "django_cache"
    # and model_name: its reads (locks, fresh values) must see the writes, so it stays on the primary.
    if meta.app_label == "django_cache":
        return True
    labels = settings.REPLICA_PRIMARY_MODELS
    return meta.app_label in labels or meta.label_lower in labels


class PrimaryReplicaRouter:
    """Route reads to a healthy, caught-up replica when safe; writes and migrations to ``default``."""

    def db_for_read(self, model: type[Model], **hints: Any) -> str:
        scope = _scope.get()
        if scope is None or not scope.replica_by_default or _is_primary_model(model):
            return DEFAULT_DB_ALIAS
        return replica_alias() or DEFAULT_DB_ALIAS

    def db_for_write(self, model: type[Model], **hints: Any) -> str:
        scope = _scope.get()
        # Sessions and the database cache are read on the primary anyway; saving one (many GETs do)
        # must not pin reads. (The cache's stand-in model has no label_lower.)
        meta = model._meta
        if scope is not None and meta.app_label not in ("sessions", "django_cache"):
            scope.wrote = True
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Model, obj2: Model, **hints: Any) -> bool:
        return True  # every alias holds the same data

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool:
        return db == DEFAULT_DB_ALIAS  # replicas get the schema by replication
