"""Stop statements that run too long on this site's databases, and tell the admins (the talk's query killer).

A web request that timed out does not cancel its query: the client is gone, the database keeps
working. Every ``QUERY_KILLER_INTERVAL_SECONDS`` Celery beat runs :func:`kill_long_queries` on the
``querykiller`` queue. It reads ``pg_stat_activity`` on the primary and on every replica and, oldest
first, cancels the statements of this site's database that have run longer than
``QUERY_KILLER_MAX_SECONDS`` (``pg_cancel_backend``); a statement still running after
``QUERY_KILLER_GRACE_SECONDS`` has its session terminated (``pg_terminate_backend``). Each kill is
stored as a :class:`~project.querykiller.models.KilledQuery`, shown read-only in the admin, and the admins get
one e-mail per run that stopped anything.

The lessons of pt-kill and its users: never touch the killer's own session, replication or any
other background process, other databases, or sessions of a protected role or ``application_name``
(migrations, backups, the workers, the killer itself); leave statements that are merely waiting for
a lock alone unless asked (their holder is the problem); kill the oldest first. The killer uses its
own short-lived connections, named ``django-querykiller``, so it works even when every pooled
connection of the site is stuck, and it holds an advisory lock on the primary so two overlapping runs
never both kill.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import psycopg
from django.conf import settings
from django.core.mail import mail_admins
from django.db import DatabaseError, connections, transaction
from django.utils import timezone

from project.querykiller.models import QUERY_TEXT_LENGTH, KilledQuery

logger = logging.getLogger(__name__)

APPLICATION_NAME = "django-querykiller"
# The killer's own statements are quick catalogue reads and signals: none of them may hang a run.
_SESSION_OPTIONS = "-c statement_timeout=5000 -c lock_timeout=1000 -c idle_in_transaction_session_timeout=10000"
_LOCK_NAME = "django-querykiller"
# How much of each statement the e-mail quotes; the audit row keeps more.
_MAIL_QUERY_LENGTH = 500

# Client sessions of this database only (never walsenders, autovacuum, the startup process of a
# standby, parallel or other background workers), running a statement, not this session, over the
# threshold, not protected; oldest first.
_FIND_SQL = """
SELECT pid, usename::text, application_name, host(client_addr), query_start,
       EXTRACT(EPOCH FROM clock_timestamp() - query_start)::float8, left(query, %(length)s), wait_event_type
FROM pg_stat_activity
WHERE datname = current_database()
  AND backend_type = 'client backend'
  AND state = 'active'
  AND pid <> pg_backend_pid()
  AND query_start < clock_timestamp() - make_interval(secs => %(max_seconds)s)
  AND NOT (usename::text = ANY(%(roles)s::text[]))
  AND NOT (application_name = ANY(%(names)s::text[]))
  AND (%(lock_waiters)s OR wait_event_type IS DISTINCT FROM 'Lock')
ORDER BY query_start, pid
"""

# The same statement (same backend, same start) still running: the cancel did not stop it.
_STILL_RUNNING_SQL = """
SELECT pid, query_start FROM pg_stat_activity
WHERE pid = ANY(%(pids)s::int[]) AND state = 'active' AND datname = current_database()
"""


@dataclass(frozen=True)
class Statement:
    """A statement found running past the threshold: where, who, since when, what."""

    database: str
    server: str
    pid: int
    role: str
    application_name: str
    client_address: str | None
    query_start: datetime
    seconds: float
    query: str
    wait_event_type: str | None


@dataclass
class Run:
    """What one run of the killer found and did."""

    max_seconds: float
    dry_run: bool
    off: str = ""  # why the killer did nothing at all, when it did nothing at all
    found: list[Statement] = field(default_factory=list)
    killed: list[KilledQuery] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)  # database alias -> what went wrong there

    def summary(self) -> str:
        """Say in one line what the run did."""
        if self.off:
            return self.off
        errors = "".join(f"; {alias}: {error}" for alias, error in self.errors.items())
        if self.dry_run:
            return f"Dry run: {len(self.found)} statement(s) over {self.max_seconds:g} s would be cancelled{errors}."
        cancelled = sum(row.action == KilledQuery.Action.CANCELLED for row in self.killed)
        terminated = len(self.killed) - cancelled
        return (
            f"{len(self.found)} statement(s) over {self.max_seconds:g} s: "
            f"{cancelled} cancelled, {terminated} terminated{errors}."
        )


def is_available() -> str:
    """Return why the killer cannot run on this site's database, or an empty string when it can."""
    if connections["default"].vendor != "postgresql":
        return (
            f"The query killer is off: it needs PostgreSQL, and this site's database is "
            f"{connections['default'].display_name}. Set DATABASE_URL to a PostgreSQL database to use it."
        )
    return ""


def kill_long_queries(
    *,
    max_seconds: float | None = None,
    grace_seconds: float | None = None,
    dry_run: bool | None = None,
    databases: Sequence[str] | None = None,
    protected_roles: Sequence[str] | None = None,
    protected_application_names: Sequence[str] | None = None,
    kill_lock_waiters: bool | None = None,
) -> Run:
    """Cancel, then terminate if need be, this site's statements running longer than ``max_seconds``.

    Every argument defaults to its ``QUERY_KILLER_*`` setting; ``databases`` to the primary and
    every replica. Stores a ``KilledQuery`` per kill and e-mails the admins once if anything was
    killed. A dry run only finds and reports.
    """
    run = Run(
        max_seconds=settings.QUERY_KILLER_MAX_SECONDS if max_seconds is None else max_seconds,
        dry_run=settings.QUERY_KILLER_DRY_RUN if dry_run is None else dry_run,
        off=is_available(),
    )
    if run.off:
        return run
    grace = settings.QUERY_KILLER_GRACE_SECONDS if grace_seconds is None else grace_seconds
    aliases = list(databases) if databases is not None else ["default", *settings.REPLICA_DATABASES]
    criteria = _criteria(run, protected_roles, protected_application_names, kill_lock_waiters)
    with ExitStack() as stack:
        sessions = _connect(run, stack, aliases)
        if not run.dry_run and "default" in sessions and not _lock(sessions["default"]):
            run.off = "Another query killer run is in progress; this one did nothing."
            return run
        _find_all(run, sessions, criteria)
        if run.dry_run:
            for statement in run.found:
                logger.info("query killer (dry run): would cancel %s", _describe(statement))
            return run
        actions = _cancel_then_terminate(run, sessions, grace)
    if actions:
        _record(run, actions)
    return run


def _criteria(
    run: Run,
    protected_roles: Sequence[str] | None,
    protected_application_names: Sequence[str] | None,
    kill_lock_waiters: bool | None,
) -> dict[str, Any]:
    """Return ``_FIND_SQL``'s parameters, each argument left as None taken from its setting."""
    roles = settings.QUERY_KILLER_PROTECTED_ROLES if protected_roles is None else protected_roles
    names = (
        settings.QUERY_KILLER_PROTECTED_APPLICATION_NAMES
        if protected_application_names is None
        else protected_application_names
    )
    return {
        "length": QUERY_TEXT_LENGTH,
        "max_seconds": run.max_seconds,
        "roles": list(roles),
        "names": list(names),
        "lock_waiters": settings.QUERY_KILLER_KILL_LOCK_WAITERS if kill_lock_waiters is None else kill_lock_waiters,
    }


def _connect(run: Run, stack: ExitStack, aliases: Sequence[str]) -> dict[str, psycopg.Connection[Any]]:
    """Open a session to each alias's server, closed with ``stack``; an unreachable one is a run error."""
    sessions: dict[str, psycopg.Connection[Any]] = {}
    for alias in aliases:
        try:
            sessions[alias] = stack.enter_context(_session(alias))
        except psycopg.Error as exc:
            _error(run, alias, "could not connect", exc)
    return sessions


def _find_all(run: Run, sessions: dict[str, psycopg.Connection[Any]], criteria: dict[str, Any]) -> None:
    """Add every server's statements over the limit to ``run.found``, the oldest first."""
    for alias, session in sessions.items():
        try:
            run.found += _find(alias, session, criteria)
        except psycopg.Error as exc:
            _error(run, alias, "could not read pg_stat_activity", exc)
    # By start time, not by ``seconds``: each server's elapsed time is measured when that server is
    # read, so a later read inflates a younger statement.
    run.found.sort(key=lambda statement: (statement.query_start, statement.database, statement.pid))


def _cancel_then_terminate(
    run: Run, sessions: dict[str, psycopg.Connection[Any]], grace: float
) -> dict[Statement, tuple[str, float]]:
    """Cancel every found statement, then terminate those still running ``grace`` seconds later."""
    found_at = time.monotonic()
    actions: dict[Statement, tuple[str, float]] = {}
    for statement in run.found:
        if _signal(run, sessions[statement.database], "pg_cancel_backend", statement):
            actions[statement] = (KilledQuery.Action.CANCELLED, time.monotonic() - found_at)
    for statement in _outlasting_cancel(sessions, list(actions), grace):
        if _signal(run, sessions[statement.database], "pg_terminate_backend", statement):
            actions[statement] = (KilledQuery.Action.TERMINATED, time.monotonic() - found_at)
    return actions


@contextmanager
def _session(alias: str) -> Iterator[psycopg.Connection[Any]]:
    """Open the killer's own connection to ``alias``'s server, outside Django's pool and transactions."""
    params = connections[alias].get_connection_params()
    for django_only in ("cursor_factory", "context", "prepare_threshold"):
        params.pop(django_only, None)
    params.update(application_name=APPLICATION_NAME, options=_SESSION_OPTIONS, autocommit=True)
    with psycopg.connect(**params) as session:
        yield session


def _lock(session: psycopg.Connection[Any]) -> bool:
    """Take the primary's advisory lock for this run; it goes when the session closes."""
    row = session.execute("SELECT pg_try_advisory_lock(hashtext(%s))", [_LOCK_NAME]).fetchone()
    return bool(row and row[0])


def _find(alias: str, session: psycopg.Connection[Any], criteria: dict[str, Any]) -> list[Statement]:
    server = f"{session.info.host}:{session.info.port}/{session.info.dbname}"
    return [
        Statement(alias, server, *row)  # columns in the dataclass's order
        for row in session.execute(_FIND_SQL, criteria).fetchall()
    ]


def _signal(run: Run, session: psycopg.Connection[Any], function: str, statement: Statement) -> bool:
    """Send ``pg_cancel_backend`` or ``pg_terminate_backend``; False if the backend was already gone."""
    try:
        row = session.execute(f"SELECT {function}(%s)", [statement.pid]).fetchone()
    except psycopg.Error as exc:  # e.g. the killer's role may not signal this backend's role
        _error(run, statement.database, f"{function}({statement.pid}) failed", exc)
        return False
    return bool(row and row[0])


def _outlasting_cancel(
    sessions: dict[str, psycopg.Connection[Any]], cancelled: list[Statement], grace: float
) -> list[Statement]:
    """Wait up to ``grace`` seconds for the cancelled statements to stop; return those still running."""
    deadline = time.monotonic() + grace
    running = cancelled
    while running:
        still: set[tuple[str, int, datetime]] = set()
        for alias in {statement.database for statement in running}:
            pids = [statement.pid for statement in running if statement.database == alias]
            try:
                rows = sessions[alias].execute(_STILL_RUNNING_SQL, {"pids": pids}).fetchall()
            except psycopg.Error:
                logger.exception("query killer: %s: could not check whether cancelled statements stopped", alias)
                rows = []
            still |= {(alias, pid, query_start) for pid, query_start in rows}
        # Only the same statement counts: the backend may have moved on to its next one.
        running = [s for s in running if (s.database, s.pid, s.query_start) in still]
        if not running or time.monotonic() >= deadline:
            break
        time.sleep(min(0.1, max(deadline - time.monotonic(), 0)))
    return running


def _record(run: Run, actions: dict[Statement, tuple[str, float]]) -> None:
    """Store one audit row per kill, then e-mail the admins once the rows are committed."""
    now = timezone.now()
    rows = [
        KilledQuery(
            killed_at=now,
            database=statement.database,
            server=statement.server,
            pid=statement.pid,
            role=statement.role,
            application_name=statement.application_name,
            client_address=statement.client_address,
            duration=timedelta(seconds=statement.seconds + after),
            query=statement.query,
            action=action,
        )
        for statement, (action, after) in actions.items()
    ]
    for row in rows:
        logger.warning(
            "query killer: %s pid %s on %s (%s) after %s: %.200s",
            row.action,
            row.pid,
            row.database,
            row.role,
            row.duration,
            row.query,
        )
    try:
        with transaction.atomic():
            run.killed = KilledQuery.objects.bulk_create(rows)
            transaction.on_commit(lambda: _tell_admins(run), robust=True)
    except DatabaseError:
        # The kills happened whatever the audit table says: the admins must still hear of them.
        logger.exception("query killer: could not store the audit rows")
        run.killed = rows
        _tell_admins(run)


def _tell_admins(run: Run) -> None:
    count = len(run.killed)
    subject = f"Query killer stopped {count} {'query' if count == 1 else 'queries'} over {run.max_seconds:g} s"
    lines = [
        f"The query killer stopped {count} statement(s) that ran longer than {run.max_seconds:g} seconds "
        "(cancelled first; terminated when still running after the grace period).",
        "",
    ]
    for number, row in enumerate(run.killed, start=1):
        query = row.query if len(row.query) <= _MAIL_QUERY_LENGTH else row.query[:_MAIL_QUERY_LENGTH] + "…"
        lines += [
            f"{number}. {row.action} after {row.duration.total_seconds():.1f} s on {row.database} "
            f"({row.server}), pid {row.pid}",
            f"   role {row.role}, application {row.application_name or '-'}, client {row.client_address or 'local'}",
            f"   {query}",
            "",
        ]
    for alias, error in run.errors.items():
        lines.append(f"Problem on {alias}: {error}")
    lines.append("Every kill is kept in the admin under Site operations > Killed queries.")
    mail_admins(subject, "\n".join(lines))


def _describe(statement: Statement) -> str:
    return (
        f"pid {statement.pid} on {statement.database} ({statement.role}, "
        f"application {statement.application_name or '-'}, {statement.seconds:.1f} s): {statement.query[:200]}"
    )


def _error(run: Run, alias: str, what: str, exc: Exception) -> None:
    message = f"{what}: {str(exc).strip()}"
    logger.error("query killer: %s: %s", alias, message)
    run.errors[alias] = message
