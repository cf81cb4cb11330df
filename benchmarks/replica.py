"""Replica benchmark: steady reads and writes while the replica is stopped and started again.

Run with ``make bench-replica``. gunicorn serves the site with the replica router; reader threads
GET the home page, post pages and the API, a writer thread posts comments as a logged-in user. After
``HEALTHY_SECONDS`` the replica is stopped (``deploy/services.sh replica-stop``) for
``DOWN_SECONDS``, then started, and the load runs on until reads are back on it (at most
``RECOVERY_SECONDS``). A benchmark-only middleware tells, per response, how many queries ran on the
primary and on the replica, so every figure comes from the server's own routing.

Then the baseline, in the same run: the same site with the router of Django's documentation (every
read to a replica, no health or lag check) goes through the same stop and start.

The last line is JSON: requests, errors_5xx, reads_on_replica_pct (healthy phase), failover_ms (stop
issued → first GET answered from the primary), recovery_s (start issued → first GET answered
from the replica), and the baseline's figures.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import random
import re
import subprocess
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from benchmarks.harness import BASE_DIR, BENCH_DB, bench_env, create_database, gunicorn, log, manage

# The replica to stop and start: deploy/services.sh's, on the same REPLICA_PORT it uses (default 5433).
REPLICA_PORT = int(os.environ.get("REPLICA_PORT", "5433"))
# Routing overhead: the lag query and the benchmark's own probe are not reads of the page.
_ROUTER_SQL = re.compile(r"pg_last_wal_replay_lsn|pg_is_in_recovery")


# --- Server side: which database answered (benchmark only, never in the real site) --------------


class QueryOriginMiddleware:
    """Add ``X-Bench-Queries: default=N,replica=M``: the queries this request ran on each alias."""

    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        from django.conf import settings
        from django.db import connections

        counts = dict.fromkeys(["default", *settings.REPLICA_DATABASES], 0)

        def count(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
            result = execute(sql, params, many, context)  # counted only once it succeeded
            if not _ROUTER_SQL.search(sql):
                counts[context["connection"].alias] += 1
            return result

        with contextlib.ExitStack() as stack:
            for alias in counts:
                stack.enter_context(connections[alias].execute_wrapper(count))
            response = self.get_response(request)
        response["X-Bench-Queries"] = ",".join(f"{alias}={n}" for alias, n in counts.items())
        return response


class DocsExampleRouter:
    """The baseline: the primary/replica router of Django's documentation (reads to a replica, always)."""

    def db_for_read(self, model: Any, **hints: Any) -> str:
        from django.conf import settings

        return random.choice(settings.REPLICA_DATABASES)  # noqa: S311 - load spreading, not security

    def db_for_write(self, model: Any, **hints: Any) -> str:
        return "default"

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool:
        return db == "default"


# --- Client side -------------------------------------------------------------------------------


@dataclass
class Sample:
    started: float
    finished: float
    method: str
    status: int  # 0: the connection failed
    on_default: int = 0
    on_replica: int = 0


@dataclass
class Load:
    base: str
    posts: int
    readers: int = 4
    samples: list[Sample] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, sample: Sample) -> None:
        with self.lock:
            self.samples.append(sample)

    def request(
        self, connection: http.client.HTTPConnection, method: str, path: str, body: str = "", headers: Any = None
    ) -> tuple[http.client.HTTPResponse | None, bytes]:
        started = time.monotonic()
        try:
            connection.request(method, path, body=body or None, headers=headers or {})
            response = connection.getresponse()
            content = response.read()
        except (OSError, http.client.HTTPException):
            connection.close()
            self.record(Sample(started, time.monotonic(), method, 0))
            return None, b""
        counts = dict(
            item.split("=") for item in (response.getheader("X-Bench-Queries") or "").split(",") if "=" in item
        )
        self.record(
            Sample(
                started,
                time.monotonic(),
                method,
                response.status,
                int(counts.get("default", 0)),
                sum(int(n) for alias, n in counts.items() if alias != "default"),
            )
        )
        return response, content

    def published_slug(self) -> str:
        """A random published demo post (seed_demo makes every tenth one a draft)."""
        number = random.randint(1, self.posts)  # noqa: S311
        return f"demo-{number if number % 10 else number - 1}"

    def reader(self) -> None:
        host = urllib.parse.urlsplit(self.base).netloc
        connection = http.client.HTTPConnection(host, timeout=30)
        paths = ["/", "/api/v1/posts/", "/api/v1/tags/"]
        while not self.stop.is_set():
            path = random.choice([*paths, f"/posts/{self.published_slug()}/"])  # noqa: S311
            self.request(connection, "GET", path)

    def writer(self) -> None:
        """Log in as the demo staff user, then comment on random posts, one after another."""
        host = urllib.parse.urlsplit(self.base).netloc
        connection = http.client.HTTPConnection(host, timeout=30)
        cookies: dict[str, str] = {}

        def remember(response: http.client.HTTPResponse | None) -> None:
            for header in response.headers.get_all("Set-Cookie") or [] if response else []:
                name, _, rest = header.partition("=")
                cookies[name] = rest.split(";", 1)[0]

        def cookie_header() -> dict[str, str]:
            return {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}

        response, _ = self.request(connection, "GET", "/accounts/login/")
        remember(response)
        form = urllib.parse.urlencode(
            {"username": "demo", "password": "demo-password", "csrfmiddlewaretoken": cookies.get("csrftoken", "")}
        )
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Referer": self.base, **cookie_header()}
        response, _ = self.request(connection, "POST", "/accounts/login/", form, headers)
        remember(response)
        while not self.stop.is_set():
            body = urllib.parse.urlencode(
                {"body": "A benchmark comment.", "csrfmiddlewaretoken": cookies.get("csrftoken", "")}
            )
            headers = {"Content-Type": "application/x-www-form-urlencoded", "Referer": self.base, **cookie_header()}
            slug = self.published_slug()
            response, _ = self.request(connection, "POST", f"/posts/{slug}/comments/", body, headers)
            remember(response)
            time.sleep(0.05)  # a steady trickle of writes, not a write benchmark

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        threads = [threading.Thread(target=self.reader) for _ in range(self.readers)]
        threads.append(threading.Thread(target=self.writer))
        for thread in threads:
            thread.start()
        try:
            yield
        finally:
            self.stop.set()
            for thread in threads:
                thread.join()


def replica_service(command: str) -> float:
    """Run ``deploy/services.sh`` for the benchmark's replica; return when it was issued."""
    issued = time.monotonic()
    subprocess.run(
        ["deploy/services.sh", command],
        cwd=BASE_DIR,
        env={**os.environ, "REPLICA_PORT": str(REPLICA_PORT)},
        check=True,
        capture_output=True,
    )
    return issued


def replica_pct(samples: list[Sample]) -> float | None:
    reads = [s for s in samples if s.method == "GET" and s.status == 200]
    total = sum(s.on_default + s.on_replica for s in reads)
    return round(100 * sum(s.on_replica for s in reads) / total, 1) if total else None


def cycle(env: dict[str, str], posts: int, healthy: float, down: float, recovery: float) -> dict[str, Any]:
    """Load the site, stop the replica, start it again; return the figures."""
    with gunicorn(env=env, workers=2) as base:
        load = Load(base=base, posts=posts, readers=int(os.environ.get("BENCH_READERS", "4")))
        with load.running():
            began = time.monotonic()
            time.sleep(healthy)
            log(f"stopping the replica on port {REPLICA_PORT}")
            stop_issued = replica_service("replica-stop")
            stopped = time.monotonic()
            try:
                time.sleep(down)
            finally:
                log("starting the replica again")
                start_issued = replica_service("replica-start")
            started = time.monotonic()
            deadline = started + recovery
            recovered_at = None
            while time.monotonic() < deadline:
                time.sleep(0.5)
                with load.lock:
                    back = [
                        s
                        for s in load.samples
                        if s.started > start_issued and s.method == "GET" and s.status == 200 and s.on_replica
                    ]
                if back:
                    recovered_at = min(s.finished for s in back)
                    time.sleep(3)  # a little steady state after recovery
                    break
        samples = load.samples
    gets_after_stop = sorted(
        (s for s in samples if s.finished > stop_issued and s.method == "GET" and s.status == 200),
        key=lambda s: s.finished,
    )
    first_primary = next((s for s in gets_after_stop if s.on_default and not s.on_replica), None)
    during_stop = [s for s in samples if stopped < s.started and s.finished < started and s.method == "GET"]
    return {
        "requests": len(samples),
        "errors_5xx": sum(1 for s in samples if s.status >= 500),
        "connection_errors": sum(1 for s in samples if s.status == 0),
        "write_statuses": dict(sorted(Counter(str(s.status) for s in samples if s.method == "POST").items())),
        "reads_on_replica_pct": replica_pct([s for s in samples if s.finished < stop_issued]),
        "reads_on_replica_pct_while_down": replica_pct(during_stop),
        "failover_ms": round(1000 * (first_primary.finished - stop_issued)) if first_primary else None,
        "stop_command_ms": round(1000 * (stopped - stop_issued)),
        "max_get_latency_while_down_ms": round(1000 * max((s.finished - s.started for s in during_stop), default=0)),
        "start_command_ms": round(1000 * (started - start_issued)),
        "recovery_s": round(recovered_at - start_issued, 2) if recovered_at else None,
        "rps": round(len(samples) / (time.monotonic() - began), 1),
    }


def main() -> None:
    posts = int(os.environ.get("POSTS", "2000"))
    healthy = float(os.environ.get("HEALTHY_SECONDS", "10"))
    down = float(os.environ.get("DOWN_SECONDS", "10"))
    recovery = float(os.environ.get("RECOVERY_SECONDS", "90"))
    extra = {
        "REPLICA_DATABASE_URLS": f"postgres://postgres@127.0.0.1:{REPLICA_PORT}/{BENCH_DB}",
        "DJANGO_SETTINGS_MODULE": "benchmarks.replica_settings",
    }
    for variable in ("REDIS_URL", "CELERY_BROKER_URL"):
        if os.environ.get(variable):
            extra[variable] = os.environ[variable]
    env = bench_env(**extra)
    create_database()
    replica_service("up")
    manage("migrate", "--noinput", "-v", "0", env=env)
    log(f"seeding {BENCH_DB} to {posts:,} posts")
    manage("seed_demo", "--posts", str(posts), env=env)

    log("the project's router: replica stopped and started under load")
    results: dict[str, Any] = {"posts": posts, "healthy_s": healthy, "down_s": down}
    results.update(cycle(env, posts, healthy, down, recovery))
    log("baseline: the router of Django's documentation, same stop and start")
    baseline = cycle({**env, "BENCH_DOCS_ROUTER": "1"}, posts, healthy, down, recovery)
    results["baseline_docs_router"] = {
        key: baseline[key] for key in ("requests", "errors_5xx", "connection_errors", "reads_on_replica_pct", "rps")
    }
    print(json.dumps(results))


if __name__ == "__main__":
    main()
