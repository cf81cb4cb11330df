"""Shared benchmark plumbing: a seeded PostgreSQL database, gunicorn on a free port, and wrk.

Benchmarks use their own database (``django_at_scale_bench``) on the services that
``deploy/services.sh up`` starts, so they never touch test or development data.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
BENCH_DB = os.environ.get("BENCH_DB", "django_at_scale_bench")

# wrk reports latency percentiles from its own histogram; this script prints them as JSON.
WRK_SCRIPT = """
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format(
    'JSON {"requests":%d,"duration_s":%.3f,"rps":%.1f,"p50_ms":%.2f,"p95_ms":%.2f,"p99_ms":%.2f,"errors":%d,"non_2xx":%d}\\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    errors, summary.errors.status))
end
"""


def bench_env(**extra: str) -> dict[str, str]:
    """The environment for the benchmark's Django processes: production mode on the test services."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "DATABASE_", "REPLICA_", "REDIS_", "CELERY_"))
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "benchmarks.settings",
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": "benchmark-only-secret-key",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DJANGO_STATIC_MANIFEST": "0",
            "DJANGO_LOG_LEVEL": "WARNING",
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{BENCH_DB}",
            "REPLICA_DATABASE_URLS": f"postgres://postgres@127.0.0.1:5433/{BENCH_DB}",
            "REDIS_URL": "redis://127.0.0.1:6379/12",
            "CELERY_BROKER_URL": "redis://127.0.0.1:6379/13",
        }
    )
    env.update(extra)
    return env


def manage(*args: str, env: dict[str, str] | None = None) -> str:
    """Run a management command against the benchmark database and return its output."""
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env or bench_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def create_database() -> None:
    """Create the benchmark database ``BENCH_DB`` unless it exists."""
    subprocess.run(
        [
            "psql",
            "-X",
            "-q",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-c",
            f"CREATE DATABASE {BENCH_DB}",
        ],
        capture_output=True,
        check=False,
    )  # fails harmlessly when it exists


def ensure_database(posts: int) -> None:
    """Create, migrate and seed the benchmark database up to ``posts`` demo posts."""
    create_database()
    manage("migrate", "--noinput", "-v", "0")
    log(f"seeding {BENCH_DB} to {posts:,} posts (tops up; a first run at millions takes minutes)")
    manage("seed_demo", "--posts", str(posts), "--allow-production")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def stop(process: subprocess.Popen[str]) -> None:
    """Ask a server started by a benchmark to stop; kill it if it has not within 20 seconds."""
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


@contextlib.contextmanager
def gunicorn(env: dict[str, str] | None = None, workers: int = 2) -> Iterator[str]:
    """Serve the site with gunicorn on a free loopback port; yield its base URL."""
    port = free_port()
    env = dict(env or bench_env())
    env.update({"GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": str(workers), "GUNICORN_ACCESSLOG": ""})
    # The server's log goes to a file: a pipe nobody reads fills up under a chatty server (tracebacks)
    # and then every request hangs.
    server_log = tempfile.NamedTemporaryFile("w+", prefix="bench-gunicorn-", suffix=".log", delete=False)  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "project.wsgi"],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=server_log,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(base + "/healthz", timeout=2)
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"gunicorn did not start:\n{Path(server_log.name).read_text()[-3000:]}") from None
                time.sleep(0.2)
        yield base
    finally:
        stop(process)
        server_log.close()
        os.unlink(server_log.name)


def wrk(url: str, *, seconds: int = 10, connections: int = 8, threads: int = 2) -> dict[str, float]:
    """Drive ``url`` with wrk and return requests/s and latency percentiles in milliseconds."""
    urllib.request.urlopen(url, timeout=30).read()  # warm up, and fail early on a broken page
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT)
    try:
        result = subprocess.run(
            ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", script.name, url],
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        os.unlink(script.name)
    line = next(line for line in result.stdout.splitlines() if line.startswith("JSON "))
    figures: dict[str, float] = json.loads(line[5:])
    if figures["non_2xx"] or figures["errors"]:
        log(f"{url}: {figures['non_2xx']} non-2xx responses, {figures['errors']} socket errors")
    return figures


def require_wrk() -> None:
    subprocess.run([str(BASE_DIR / "deploy" / "apt-install.sh"), "wrk=wrk"], check=True)
