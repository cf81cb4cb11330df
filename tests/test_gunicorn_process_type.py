"""gunicorn started with deploy/gunicorn.conf.py: its workers connect as web processes.

The config loads the settings in gunicorn's master (``on_starting``), before ``project/wsgi.py``
can say "web"; the config itself must say it first, or every worker connects as a "command"
(no statement_timeout, and a name the query killer protects).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection

from tests.gunicorn_probe import PROBE_PATH
from tests.support import free_port, wait_until_serving

BASE_DIR = Path(__file__).resolve().parents[1]


@pytest.fixture
def gunicorn_base(tmp_path: Path, transactional_db: None) -> Iterator[str]:
    """gunicorn with the project's config and two workers, on the test database."""
    settings = connection.settings_dict
    port = free_port()
    env = {
        # Nothing of this process's kind leaks in: the config alone must make the workers "web".
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "GUNICORN_", "PROMETHEUS_"))},
        "DJANGO_SETTINGS_MODULE": "project.settings",
        "DJANGO_SECRET_KEY": "gunicorn-test-secret",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_STATIC_MANIFEST": "0",
        "DJANGO_VAR_DIR": str(tmp_path / "var"),
        "DATABASE_URL": f"postgres://{settings['USER']}@{settings['HOST']}:{settings['PORT']}/{settings['NAME']}",
        "DATABASE_STATEMENT_TIMEOUT_WEB": "7",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "2",
        "GUNICORN_ACCESSLOG": "",
    }
    log = tmp_path / "gunicorn.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "tests.gunicorn_probe:application"],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),
    )
    base = f"http://127.0.0.1:{port}"
    wait_until_serving(base + "/healthz", process, timeout=60, describe=lambda: log.read_text()[-3000:])
    yield base
    process.terminate()
    process.wait(timeout=30)
    # No control socket error (or any other traceback) on start or stop.
    assert "Traceback" not in log.read_text()


def test_workers_connect_as_django_web_with_the_web_statement_timeout(gunicorn_base: str) -> None:
    sessions = []
    for _ in range(6):  # several requests, so both workers are likely to answer one
        with urllib.request.urlopen(gunicorn_base + PROBE_PATH, timeout=10) as response:
            sessions.append(json.load(response))

    assert {session["application_name"] for session in sessions} == {"django-web"}
    assert {session["statement_timeout"] for session in sessions} == {"7s"}
    # PostgreSQL sees the same name on those sessions, the one the query killer goes by.
    with connection.cursor() as cursor:
        # 1: the workers' sessions, by server pid
        cursor.execute(
            "SELECT DISTINCT application_name FROM pg_stat_activity WHERE pid = ANY(%s)",
            [sorted({session["pid"] for session in sessions})],
        )
        assert cursor.fetchall() == [("django-web",)]
