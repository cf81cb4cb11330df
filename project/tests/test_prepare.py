"""``manage.py prepare``: the web entrypoint's migrate-once step and its PostgreSQL advisory lock.

tests/test_container_scripts.py starts two web entrypoints together on an empty database; these
tests look at the lock itself: a second copy waits while another holds it, and SQLite needs none.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from django.db import connections

from project.management.commands.prepare import PREPARE_LOCK_KEY
from tests.support import wait_for

BASE_DIR = Path(__file__).resolve().parents[2]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "REPLICA_", "REDIS_"))}
    return {**env, "DJANGO_SETTINGS_MODULE": "project.settings", **extra}


@pytest.mark.django_db
def test_prepare_waits_while_another_copy_holds_the_lock(tmp_path: Path) -> None:
    settings_dict = connections["default"].settings_dict
    url = f"postgres://{settings_dict['USER']}@{settings_dict['HOST']}:{settings_dict['PORT']}/{settings_dict['NAME']}"
    holder = psycopg.connect(
        host=settings_dict["HOST"],
        port=settings_dict["PORT"],
        user=settings_dict["USER"],
        dbname=settings_dict["NAME"],
        autocommit=True,
    )
    try:
        holder.execute("SELECT pg_advisory_lock(%s)", [PREPARE_LOCK_KEY])
        env = clean_env(DATABASE_URL=url, DJANGO_SECRET_KEY="x", DJANGO_ALLOWED_HOSTS="x", DJANGO_VAR_DIR=str(tmp_path))
        process = subprocess.Popen(
            [sys.executable, "manage.py", "prepare"],
            cwd=BASE_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            # The waiting copy polls pg_try_advisory_lock (a blocking wait would deadlock with
            # CREATE INDEX CONCURRENTLY in the holder's migrations); its session shows the poll.
            polling = (
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid() AND query LIKE 'SELECT pg_try_advisory_lock%'"
            )
            wait_for(lambda: holder.execute(polling).fetchone() == (1,), timeout=60, interval=0.2)
            time.sleep(1.5)  # several polls later, it must still be waiting
            assert process.poll() is None, "prepare went ahead without the lock"
        finally:
            holder.execute("SELECT pg_advisory_unlock(%s)", [PREPARE_LOCK_KEY])
        stdout, stderr = process.communicate(timeout=60)
    finally:
        holder.close()
    assert process.returncode == 0, stderr
    assert "No migrations to apply." in stdout


def test_prepare_on_sqlite_migrates_without_a_lock(tmp_path: Path) -> None:
    env = clean_env(DJANGO_DEBUG="1", DJANGO_VAR_DIR=str(tmp_path))
    result = subprocess.run(
        [sys.executable, "manage.py", "prepare"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Applying blog.0001_initial... OK" in result.stdout
    assert (tmp_path / "db.sqlite3").exists()
