"""Demo of the query killer as deployed: Celery beat and a worker on its queue, a victim, a protected backup.

Run with ``make demo-querykiller``. It migrates the benchmark database, starts ``celery beat`` and a
``celery worker -Q querykiller`` exactly as production runs them (with the site's defaults: a run
every 10 s, a 30 s threshold, a 5 s grace period; ``QUERY_KILLER_*`` in the environment override
them), then opens two client sessions on the benchmark database: a victim running
``pg_sleep`` far past the threshold, and a session named ``pg_dump`` (protected by default) running
past it too. It measures how long the victim's client waited before seeing the error, checks the
protected session finished untouched, lets the killer run a few more times, and counts the e-mails
(the console backend prints them in the worker's log; one run that killed something = one mail).

The last line is JSON: the threshold, interval and grace period, ``killed_after_s`` (the victim's
statement start to its client seeing the cancel), ``limit_s`` (threshold + interval + grace, the
target), ``unkilled_s`` (how long the victim would have run without the killer: the baseline),
``protected_survived``, ``emails`` and the audit rows written.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import IO

import psycopg
import redis

from benchmarks.harness import BASE_DIR, BENCH_DB, bench_env, create_database, log, manage


def main() -> None:
    threshold = float(os.environ.get("QUERY_KILLER_MAX_SECONDS", "30"))
    interval = float(os.environ.get("QUERY_KILLER_INTERVAL_SECONDS", "10"))
    grace = float(os.environ.get("QUERY_KILLER_GRACE_SECONDS", "5"))
    limit = threshold + interval + grace
    unkilled = limit + 30
    env = bench_env(
        QUERY_KILLER_MAX_SECONDS=str(threshold),
        QUERY_KILLER_INTERVAL_SECONDS=str(interval),
        QUERY_KILLER_GRACE_SECONDS=str(grace),
        DJANGO_ADMINS="Ops <ops@example.com>",
        DJANGO_LOG_LEVEL="INFO",
        # Keep to the caller's Redis databases when given, so parallel runs never share a queue.
        **{name: os.environ[name] for name in ("REDIS_URL", "CELERY_BROKER_URL") if os.environ.get(name)},
    )
    create_database()
    manage("migrate", "--noinput", "-v", "0", env=env)
    database = f"host=127.0.0.1 port=5432 user=postgres dbname={BENCH_DB}"
    with psycopg.connect(database, autocommit=True) as db:
        audit_before = count_audit_rows(db)
    broker = redis.Redis.from_url(env["CELERY_BROKER_URL"])
    broker.delete("querykiller")  # no stale runs from an earlier demo

    with tempfile.TemporaryDirectory() as var_dir:
        env["DJANGO_VAR_DIR"] = var_dir  # beat's schedule file
        worker_log = Path(var_dir) / "worker.log"
        with worker_log.open("w") as out:
            worker = start(["worker", "-Q", "querykiller", "-c", "1", "-l", "info"], "worker", env, out)
            beat = start(["beat", "-l", "info"], "beat", env, out)
            try:
                wait_for_text(worker_log, "ready.", worker)
                log(f"threshold {threshold:g} s, interval {interval:g} s, grace {grace:g} s: target {limit:g} s")
                victim = Session(database, "demo-victim", f"SELECT pg_sleep({unkilled})")
                protected = Session(database, "pg_dump", f"SELECT pg_sleep({threshold + interval + 2})")
                victim.join(unkilled + 10)
                log(f"victim: {victim.outcome} after {victim.seconds:.1f} s")
                protected.join(unkilled)
                log(f"protected pg_dump session: {protected.outcome} after {protected.seconds:.1f} s")
                time.sleep(2 * interval + grace)  # more runs, which find nothing and must send nothing
            finally:
                for process in (beat, worker):
                    process.terminate()
                for process in (beat, worker):
                    process.wait(30)
        emails = worker_log.read_text().count("Subject: [Django] Query killer stopped")
    with psycopg.connect(database, autocommit=True) as db:
        audit_rows = count_audit_rows(db) - audit_before
    print(
        json.dumps(
            {
                "threshold_s": threshold,
                "interval_s": interval,
                "grace_s": grace,
                "killed_after_s": round(victim.seconds, 2),
                "limit_s": limit,
                "within_limit": victim.outcome.startswith("QueryCanceled") and victim.seconds <= limit,
                "unkilled_s": unkilled,
                "victim_saw": victim.outcome,
                "protected_survived": protected.outcome == "finished",
                "emails": emails,
                "audit_rows": audit_rows,
            }
        )
    )


class Session:
    """A client session of the benchmark database running one statement in a thread."""

    def __init__(self, database: str, application_name: str, sql: str) -> None:
        self.connection = psycopg.connect(database, application_name=application_name, autocommit=True)
        self.sql = sql
        self.outcome = "running"
        self.seconds = 0.0
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        started = time.monotonic()
        try:
            self.connection.execute(self.sql)
            self.outcome = "finished"
        except psycopg.Error as exc:
            self.outcome = f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
        self.seconds = time.monotonic() - started
        self.connection.close()

    def join(self, timeout: float) -> None:
        self.thread.join(timeout)
        if self.thread.is_alive():
            self.connection.cancel_safe()
            self.thread.join(10)


def count_audit_rows(db: psycopg.Connection[tuple[int]]) -> int:
    row = db.execute("SELECT count(*) FROM project_killedquery").fetchone()
    return int(row[0]) if row else 0


def start(args: list[str], process_type: str, env: dict[str, str], out: IO[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "project", *args],
        cwd=BASE_DIR,
        env={**env, "DJANGO_PROCESS_TYPE": process_type},
        stdout=out,
        stderr=subprocess.STDOUT,
    )


def wait_for_text(path: Path, text: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while text not in path.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the worker did not start:\n{path.read_text()[-3000:]}")
        time.sleep(0.2)


if __name__ == "__main__":
    main()
