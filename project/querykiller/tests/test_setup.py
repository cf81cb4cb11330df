"""How the query killer is wired in: its command, schedule, queue, admin, timeouts, and SQLite."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.contrib import admin
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from pytest_django import DjangoAssertNumQueries

from project.admin import ModelAdmin
from project.celery import app
from project.querykiller.models import KilledQuery
from project.querykiller.tests.factories import KilledQueryFactory
from project.querykiller.tests.test_killer import THRESHOLD, Victim, past_threshold
from project.tests.test_env import PRODUCTION, run_check
from users.tests.factories import StaffFactory

BASE_DIR = Path(__file__).resolve().parents[3]
TASK = "project.querykiller.kill_long_queries_task"


def run_python(code: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``code`` with Django set up from the real settings module and ``env`` on top of the test services.

    The child is a command process unless ``env`` says otherwise: a process type this test process
    picked up (an earlier test importing ``project.wsgi`` sets one) is not passed on.
    """
    inherited = {key: value for key, value in os.environ.items() if key != "DJANGO_PROCESS_TYPE"}
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=BASE_DIR,
        env={**inherited, "DJANGO_SETTINGS_MODULE": "project.settings_test", **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def embedded_env(tmp_path: Path) -> dict[str, str]:
    """The environment of `make run` on a machine without services: SQLite and the file broker."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "DATABASE_", "REPLICA_", "REDIS_", "CELERY_", "EMAIL_", "QUERY_KILLER_"))
    }
    return {**clean, "DJANGO_SETTINGS_MODULE": "project.settings", "DJANGO_DEBUG": "1", "DJANGO_VAR_DIR": str(tmp_path)}


# --- Schedule and queue ----------------------------------------------------------------------


def test_beat_schedules_the_task_every_interval_on_its_own_queue() -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["query-killer"]
    assert entry == {
        "task": TASK,
        "schedule": 10.0,
        "options": {"queue": "querykiller", "expires": 10.0},
    }
    assert app.conf.beat_schedule["query-killer"] == entry
    assert TASK in app.tasks
    assert app.amqp.router.route({}, TASK)["queue"].name == "querykiller"


def test_the_interval_comes_from_query_killer_interval_seconds() -> None:
    result = run_python(
        "from project.celery import app; print(app.conf.beat_schedule['query-killer']['schedule'])",
        {"QUERY_KILLER_INTERVAL_SECONDS": "7"},
    )
    assert result.stdout.strip() == "7.0", result.stderr


def test_query_killer_enabled_off_takes_it_off_the_schedule() -> None:
    result = run_python(
        "from django.conf import settings as s; print(sorted(s.CELERY_BEAT_SCHEDULE))", {"QUERY_KILLER_ENABLED": "0"}
    )
    assert result.stdout.strip() == "[]", result.stderr


def test_a_real_beat_enqueues_the_task_on_the_querykiller_queue_each_interval(tmp_path: Path) -> None:
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.delete("querykiller")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "project.settings_test", "DJANGO_VAR_DIR": str(tmp_path)}
    env.update({"QUERY_KILLER_INTERVAL_SECONDS": "1", "DJANGO_PROCESS_TYPE": "beat"})
    beat = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "project", "beat", "-l", "warning"],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while broker.llen("querykiller") < 3:
            assert beat.poll() is None, "celery beat exited"
            assert time.monotonic() < deadline, "beat did not enqueue three runs in 30 s"
            time.sleep(0.2)
        started = time.monotonic()
        count = broker.llen("querykiller")
        while broker.llen("querykiller") == count:
            time.sleep(0.05)
        assert time.monotonic() - started < 2.5  # the next run came about one interval (1 s) later
    finally:
        beat.terminate()
        beat.wait(10)
        broker.delete("querykiller")


def test_the_embedded_default_does_not_schedule_the_killer(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings as s; print(sorted(s.CELERY_BEAT_SCHEDULE))",
        ],
        cwd=BASE_DIR,
        env=embedded_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.strip() == "[]", result.stderr


# --- The command -----------------------------------------------------------------------------


def test_the_command_says_plainly_that_the_killer_is_off_on_sqlite(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "querykiller"],
        cwd=BASE_DIR,
        env=embedded_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("The query killer is off: it needs PostgreSQL, and this site's database is SQLite.")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--max-seconds", "soon"], "argument --max-seconds: expected a number of seconds, got 'soon'"),
        (["--max-seconds", "0"], "argument --max-seconds: expected a positive number of seconds, got '0'"),
        (["--max-seconds", "nan"], "argument --max-seconds: expected a positive number of seconds, got 'nan'"),
        (["--grace-seconds", "-1"], "argument --grace-seconds: expected a positive number of seconds, got '-1'"),
        (["--kill-everything"], "unrecognized arguments: --kill-everything"),
    ],
)
def test_the_command_refuses_bad_arguments_with_a_clear_error(args: list[str], message: str) -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "querykiller", *args],
        cwd=BASE_DIR,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "project.settings_test"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    with pytest.raises(CommandError, match="expected"):
        call_command("querykiller", "--max-seconds", "soon")


@pytest.mark.django_db(databases=["default", "replica"], transaction=True)
def test_the_command_dry_run_lists_what_it_would_cancel_and_cancels_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    sleeper = Victim("default", "SELECT pg_sleep(60)").start()
    try:
        past_threshold(sleeper)
        call_command("querykiller", "--dry-run", "--max-seconds", str(THRESHOLD))
        output = capsys.readouterr().out
        assert f"would cancel pid {sleeper.pid} on default" in output
        assert "application test-victim: SELECT pg_sleep(60)" in output
        assert output.splitlines()[-1] == "Dry run: 1 statement(s) over 1 s would be cancelled."
        assert sleeper.state() == "active"
        call_command("querykiller", "--max-seconds", str(THRESHOLD))
        assert sleeper.outcome().startswith("QueryCanceled")
        assert capsys.readouterr().out.splitlines()[-1] == "1 statement(s) over 1 s: 1 cancelled, 0 terminated."
        assert KilledQuery.objects.count() == 1
    finally:
        sleeper.stop()


@pytest.mark.django_db(databases=["default", "replica"], transaction=True)
def test_a_run_while_another_holds_the_lock_does_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    sleeper = Victim("default", "SELECT pg_sleep(60)").start()
    other_run = Victim("default", "", "django-querykiller")
    try:
        other_run.connection.execute("SELECT pg_advisory_lock(hashtext('django-querykiller'))")
        past_threshold(sleeper)
        call_command("querykiller", "--max-seconds", str(THRESHOLD))
        assert capsys.readouterr().out == "Another query killer run is in progress; this one did nothing.\n"
        assert sleeper.state() == "active"
        other_run.connection.close()  # the other run ends: its lock goes with its session
        call_command("querykiller", "--max-seconds", str(THRESHOLD))
        assert sleeper.outcome().startswith("QueryCanceled")
    finally:
        sleeper.stop()
        other_run.stop()


# --- The admin -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_admin_lists_kills_read_only(client: Client, django_assert_num_queries: DjangoAssertNumQueries) -> None:
    assert isinstance(admin.site.get_model_admin(KilledQuery), ModelAdmin)
    client.force_login(StaffFactory.create())
    for pid in (101, 102):
        KilledQueryFactory.create(pid=pid)
    url = reverse("admin:querykiller_killedquery_changelist")
    # 1: the user (the session is a cache read), 2: the filtered count, 3: the page of kills
    with django_assert_num_queries(3):
        response = client.get(url)
    assert response.status_code == 200
    assert [row.pid for row in response.context["cl"].result_list] == [102, 101]
    assert b"Add killed query" not in response.content
    assert [row.pid for row in client.get(url, {"database": "replica"}).context["cl"].result_list] == []
    assert len(client.get(url, {"database": "default"}).context["cl"].result_list) == 2
    assert client.get(reverse("admin:querykiller_killedquery_add")).status_code == 403
    change = client.get(reverse("admin:querykiller_killedquery_change", args=[KilledQuery.objects.first().pk]))  # type: ignore[union-attr]
    assert change.status_code == 200
    assert b'name="_save"' not in change.content  # view only
    assert b"SELECT pg_sleep(60)" in change.content


# --- The other layers: statement_timeout and idle_in_transaction_session_timeout --------------


@pytest.mark.parametrize(
    ("process_type", "application_name", "statement_timeout"),
    [("web", "django-web", "25s"), ("worker", "django-worker", "5min"), ("command", "django-command", "0")],
)
def test_each_process_type_connects_with_its_name_and_timeouts(
    process_type: str, application_name: str, statement_timeout: str
) -> None:
    result = run_python(
        "from django.db import connections; c = connections['replica'].cursor(); "
        "c.execute(\"SELECT current_setting('application_name'), current_setting('statement_timeout'), "
        "current_setting('idle_in_transaction_session_timeout')\"); print(*c.fetchone())",
        {"DJANGO_PROCESS_TYPE": process_type},
    )
    assert result.stdout.split() == [application_name, statement_timeout, "1min"], result.stderr


def test_the_wsgi_entry_point_makes_a_web_process() -> None:
    unset = {k: v for k, v in os.environ.items() if k != "DJANGO_PROCESS_TYPE"}
    web = subprocess.run(
        [
            sys.executable,
            "-c",
            "import project.wsgi; from django.conf import settings as s; print(s.DATABASE_APPLICATION_NAME)",
        ],
        cwd=BASE_DIR,
        env={**unset, "DJANGO_SETTINGS_MODULE": "project.settings_test"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert web.stdout.strip() == "django-web", web.stderr


def test_a_web_statement_is_cut_off_by_postgresql_at_the_web_statement_timeout() -> None:
    result = run_python(
        "from django.db import connection\n"
        "import time\n"
        "start = time.monotonic()\n"
        "try:\n"
        "    connection.cursor().execute('SELECT pg_sleep(5)')\n"
        "except Exception as exc:\n"
        "    print(type(exc).__name__, round(time.monotonic() - start, 1), str(exc).splitlines()[0])\n",
        {"DJANGO_PROCESS_TYPE": "web", "DATABASE_STATEMENT_TIMEOUT_WEB": "0.5"},
    )
    name, seconds, message = result.stdout.strip().split(" ", 2)
    assert (name, message) == ("OperationalError", "canceling statement due to statement timeout"), result.stderr
    assert 0.5 <= float(seconds) < 2


def test_a_session_idle_in_a_transaction_is_ended_by_postgresql() -> None:
    result = run_python(
        "from django.db import connection, transaction\n"
        "import time\n"
        "try:\n"
        "    with transaction.atomic():\n"
        "        connection.cursor().execute('SELECT 1')\n"
        "        time.sleep(1.5)\n"
        "        connection.cursor().execute('SELECT 2')\n"
        "except Exception as exc:\n"
        "    print(str(exc).splitlines()[0])\n",
        {"DATABASE_IDLE_IN_TRANSACTION_TIMEOUT": "0.5"},
    )
    assert "idle-in-transaction timeout" in result.stdout + result.stderr, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DJANGO_PROCESS_TYPE": "cron"}, "DJANGO_PROCESS_TYPE must be one of web, worker, beat, command, not 'cron'"),
        ({"DATABASE_STATEMENT_TIMEOUT_WEB": "25s"}, "DATABASE_STATEMENT_TIMEOUT_WEB must be a number"),
        (
            {"DATABASE_IDLE_IN_TRANSACTION_TIMEOUT": "-1"},
            "DATABASE_IDLE_IN_TRANSACTION_TIMEOUT must be a number of at least 0",
        ),
        ({"QUERY_KILLER_MAX_SECONDS": "0"}, "QUERY_KILLER_MAX_SECONDS must be a number of at least 0.1"),
        ({"QUERY_KILLER_INTERVAL_SECONDS": "often"}, "QUERY_KILLER_INTERVAL_SECONDS must be a number"),
        ({"QUERY_KILLER_DRY_RUN": "perhaps"}, "QUERY_KILLER_DRY_RUN must be one of"),
    ],
)
def test_settings_refuse_bad_killer_and_timeout_values(env: dict[str, str], message: str, tmp_path: Path) -> None:
    result = run_check({**PRODUCTION, **env}, tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_connections_keep_options_given_in_the_database_url() -> None:
    result = run_python(
        "from django.conf import settings as s; print(s.DATABASES['default']['OPTIONS']['options'])",
        {"DATABASE_URL": "postgres://postgres@127.0.0.1:5432/x?options=-c%20search_path%3Dblog"},
    )
    assert result.stdout.strip() == (
        "-c search_path=blog -c statement_timeout=0 -c idle_in_transaction_session_timeout=60000"
    ), result.stderr
