"""The query killer against real victims on the real primary and the real streaming replica.

Each victim is a client on its own connection (as a web process or psql would be) running a
statement in a thread; the tests look at what that client saw. Every run is limited to this test
database's backends: the killer only ever looks at ``current_database()``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from celery.contrib.testing.worker import start_worker
from django.core import mail
from django.db import connections
from pytest_django.fixtures import Settings as SettingsWrapper

from project.celery import app
from project.querykiller.killer import APPLICATION_NAME, kill_long_queries
from project.querykiller.models import KilledQuery
from project.querykiller.tasks import kill_long_queries_task
from tests.support import wait_for

pytestmark = pytest.mark.django_db(databases=["default", "replica"], transaction=True)

THRESHOLD = 1.0


class Victim:
    """A client on its own connection to ``alias``'s server, running ``sql`` in a thread."""

    def __init__(self, alias: str, sql: str, application_name: str = "test-victim") -> None:
        params = connections[alias].get_connection_params()
        for django_only in ("cursor_factory", "context", "prepare_threshold"):
            params.pop(django_only, None)
        params.update(application_name=application_name, options="", autocommit=True)
        self.alias = alias
        self.sql = sql
        self.connection = psycopg.connect(**params)
        self.pid = self.connection.info.backend_pid
        self.error: psycopg.Error | None = None
        self.finished = False
        self.started = 0.0
        self.ended = 0.0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        self.started = time.monotonic()
        try:
            self.connection.execute(self.sql)
            self.finished = True
        except psycopg.Error as exc:
            self.error = exc
        self.ended = time.monotonic()

    def start(self) -> Victim:
        self.thread.start()
        wait_for(lambda: self.state() == "active")
        return self

    def state(self) -> str | None:
        with connections[self.alias].cursor() as cursor:
            cursor.execute("SELECT state FROM pg_stat_activity WHERE pid = %s", [self.pid])
            row = cursor.fetchone()
        return row[0] if row else None

    def outcome(self, timeout: float = 15.0) -> str:
        """Wait for the statement to end; say how: finished, or the error its client saw (first line)."""
        self.thread.join(timeout)
        assert not self.thread.is_alive(), f"victim {self.pid} still running after {timeout}s"
        return "finished" if self.finished else f"{type(self.error).__name__}: {str(self.error).splitlines()[0]}"

    def stop(self) -> None:
        if self.thread.is_alive():
            self.connection.cancel_safe()
            self.thread.join(10)
        self.connection.close()


@pytest.fixture
def victims() -> Iterator[list[Victim]]:
    started: list[Victim] = []
    yield started
    for victim in started:
        victim.stop()


@pytest.fixture
def admins(settings: SettingsWrapper) -> SettingsWrapper:
    settings.ADMINS = [("Ops", "ops@example.com")]
    return settings


def victim(victims: list[Victim], sql: str, alias: str = "default", application_name: str = "test-victim") -> Victim:
    started = Victim(alias, sql, application_name).start()
    victims.append(started)
    return started


def past_threshold(*running: Victim) -> None:
    wait_for(lambda: all(time.monotonic() - v.started > THRESHOLD + 0.2 for v in running))


def test_a_long_statement_on_the_primary_is_cancelled_and_its_client_sees_the_error(
    victims: list[Victim], admins: SettingsWrapper
) -> None:
    sleeper = victim(victims, "SELECT pg_sleep(60)")
    past_threshold(sleeper)
    run = kill_long_queries(max_seconds=THRESHOLD, grace_seconds=5, databases=["default"])
    assert sleeper.outcome() == "QueryCanceled: canceling statement due to user request"
    assert [(row.pid, row.action, row.database) for row in run.killed] == [(sleeper.pid, "cancelled", "default")]
    stored = KilledQuery.objects.get()
    assert (stored.pid, stored.role, stored.application_name, stored.query) == (
        sleeper.pid,
        "postgres",
        "test-victim",
        "SELECT pg_sleep(60)",
    )
    assert stored.client_address == "127.0.0.1"
    assert stored.server.endswith(f":{connections['default'].settings_dict['PORT']}/{stored.server.split('/')[-1]}")
    assert THRESHOLD < stored.duration.total_seconds() < 10


def test_a_long_statement_on_the_replica_is_cancelled_there(victims: list[Victim], admins: SettingsWrapper) -> None:
    sleeper = victim(victims, "SELECT pg_sleep(60)", alias="replica")
    past_threshold(sleeper)
    run = kill_long_queries(max_seconds=THRESHOLD, grace_seconds=5)
    assert sleeper.outcome() == "QueryCanceled: canceling statement due to user request"
    assert [(row.pid, row.database) for row in run.killed] == [(sleeper.pid, "replica")]
    assert KilledQuery.objects.get().server.split("/")[0].endswith(":" + connections["replica"].settings_dict["PORT"])
    assert len(mail.outbox) == 1


def test_a_statement_that_survives_the_cancel_is_terminated_after_the_grace_period(
    victims: list[Victim], admins: SettingsWrapper
) -> None:
    # PL/pgSQL can catch the cancel and keep going, as a badly written function would.
    stubborn = victim(
        victims,
        "DO $$ BEGIN PERFORM pg_sleep(60); EXCEPTION WHEN query_canceled THEN PERFORM pg_sleep(60); END $$",
    )
    past_threshold(stubborn)
    before = time.monotonic()
    run = kill_long_queries(max_seconds=THRESHOLD, grace_seconds=1.0, databases=["default"])
    took = time.monotonic() - before
    assert stubborn.outcome() == "AdminShutdown: terminating connection due to administrator command"
    assert [(row.pid, row.action) for row in run.killed] == [(stubborn.pid, "terminated")]
    assert 1.0 <= took < 5  # waited out the grace period, no longer
    assert "terminated after" in mail.outbox[0].body


def test_protected_roles_application_names_and_short_statements_are_left_alone(
    victims: list[Victim], admins: SettingsWrapper
) -> None:
    target = victim(victims, "SELECT pg_sleep(60)")
    backup = victim(victims, "SELECT pg_sleep(3)", application_name="test-backup")
    past_threshold(target, backup)
    short = victim(victims, "SELECT pg_sleep(2)", application_name="test-short")
    run = kill_long_queries(
        max_seconds=THRESHOLD, grace_seconds=5, databases=["default"], protected_application_names=["test-backup"]
    )
    assert [row.pid for row in run.killed] == [target.pid]  # the run was armed, and hit only its target
    assert target.outcome().startswith("QueryCanceled")
    assert backup.outcome() == "finished"
    assert short.outcome() == "finished"


def test_a_protected_role_is_left_alone(victims: list[Victim]) -> None:
    sleeper = victim(victims, "SELECT pg_sleep(3)")
    past_threshold(sleeper)
    run = kill_long_queries(max_seconds=THRESHOLD, databases=["default"], protected_roles=["postgres"])
    assert run.found == []
    assert sleeper.outcome() == "finished"


@pytest.mark.parametrize("application_name", ["django-worker", "django-command", APPLICATION_NAME, "pg_dump"])
def test_workers_commands_backups_and_other_killers_are_protected_by_default(
    victims: list[Victim], application_name: str
) -> None:
    sleeper = victim(victims, "SELECT pg_sleep(3)", application_name=application_name)
    past_threshold(sleeper)
    assert kill_long_queries(max_seconds=THRESHOLD, databases=["default"]).found == []
    assert sleeper.outcome() == "finished"


def test_the_killer_never_finds_its_own_session() -> None:
    # With a zero threshold and nothing protected, the killer's own SELECT on pg_stat_activity
    # matches every other condition: only the pid check keeps it off the list.
    run = kill_long_queries(max_seconds=0, databases=["default", "replica"], protected_application_names=[])
    assert [statement for statement in run.found if statement.application_name == APPLICATION_NAME] == []
    assert run.errors == {}


def test_a_statement_waiting_for_a_lock_is_left_alone_unless_asked(victims: list[Victim]) -> None:
    holder = Victim("default", "", "test-holder")
    victims.append(holder)
    holder.connection.autocommit = False
    holder.connection.execute("LOCK TABLE blog_tag IN ACCESS EXCLUSIVE MODE")  # idle in transaction
    waiter = victim(victims, "SELECT count(*) FROM blog_tag", application_name="test-waiter")
    past_threshold(waiter)
    assert kill_long_queries(max_seconds=THRESHOLD, databases=["default"]).found == []
    run = kill_long_queries(max_seconds=THRESHOLD, databases=["default"], kill_lock_waiters=True)
    assert [row.pid for row in run.killed] == [waiter.pid]
    assert waiter.outcome().startswith("QueryCanceled")
    holder.connection.rollback()


def test_a_dry_run_reports_but_kills_nothing_and_stores_and_sends_nothing(
    victims: list[Victim], admins: SettingsWrapper
) -> None:
    sleeper = victim(victims, "SELECT pg_sleep(60)")
    past_threshold(sleeper)
    run = kill_long_queries(max_seconds=THRESHOLD, grace_seconds=0, dry_run=True, databases=["default"])
    assert [statement.pid for statement in run.found] == [sleeper.pid]
    assert run.killed == []
    time.sleep(0.5)
    assert sleeper.state() == "active"
    assert KilledQuery.objects.count() == 0
    assert mail.outbox == []


def test_with_query_killer_dry_run_set_the_scheduled_task_only_reports(
    victims: list[Victim], admins: SettingsWrapper
) -> None:
    admins.QUERY_KILLER_MAX_SECONDS = THRESHOLD
    admins.QUERY_KILLER_DRY_RUN = True
    sleeper = victim(victims, "SELECT pg_sleep(60)")
    past_threshold(sleeper)
    assert kill_long_queries_task() == "Dry run: 1 statement(s) over 1 s would be cancelled."
    assert sleeper.state() == "active"
    assert KilledQuery.objects.count() == 0
    assert mail.outbox == []


def test_one_email_per_run_lists_every_kill_oldest_first_and_an_idle_run_sends_none(
    victims: list[Victim], admins: SettingsWrapper
) -> None:
    older = victim(victims, "SELECT pg_sleep(60) AS older")
    newer = victim(victims, "SELECT pg_sleep(60) AS newer", alias="replica")
    past_threshold(older, newer)
    run = kill_long_queries(max_seconds=THRESHOLD, grace_seconds=5)
    assert [row.pid for row in run.killed] == [older.pid, newer.pid]
    assert KilledQuery.objects.count() == 2
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ops@example.com"]
    assert message.subject.endswith("Query killer stopped 2 queries over 1 s")
    assert f"pid {older.pid}" in message.body and f"pid {newer.pid}" in message.body
    assert message.body.index("AS older") < message.body.index("AS newer")
    assert kill_long_queries(max_seconds=THRESHOLD).killed == []
    assert len(mail.outbox) == 1


def test_the_scheduled_task_runs_on_a_real_worker_and_stops_a_victim(
    victims: list[Victim], admins: SettingsWrapper
) -> None:
    admins.QUERY_KILLER_MAX_SECONDS = THRESHOLD
    sleeper = victim(victims, "SELECT pg_sleep(60)")
    past_threshold(sleeper)
    # The queues `manage.py runall` and compose give the worker. (The selection sticks to the app
    # for the rest of the session, so it must keep the default queue too.)
    queues = ["celery", "querykiller"]
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10, queues=queues):
        kill_long_queries_task.delay()
        assert sleeper.outcome() == "QueryCanceled: canceling statement due to user request"
        wait_for(lambda: len(mail.outbox) == 1)
    assert KilledQuery.objects.get().pid == sleeper.pid


def test_an_unreachable_replica_is_reported_and_the_primary_still_checked(
    victims: list[Victim], admins: SettingsWrapper
) -> None:
    sleeper = victim(victims, "SELECT pg_sleep(60)")
    past_threshold(sleeper)
    replica: dict[str, Any] = connections["replica"].settings_dict
    port = replica["PORT"]
    replica["PORT"] = "1"  # nothing listens there
    try:
        run = kill_long_queries(max_seconds=THRESHOLD, grace_seconds=5)
    finally:
        replica["PORT"] = port
    assert list(run.errors) == ["replica"]
    assert run.errors["replica"].startswith("could not connect")
    assert [row.pid for row in run.killed] == [sleeper.pid]
    assert "Problem on replica: could not connect" in mail.outbox[0].body
