"""Fault drill: the whole site under steady load while its services fail one at a time.

Run with ``make chaos``; ``tests/test_faults.py`` runs the same faults, shorter, in ``make test``.

``Stack`` starts a set of services of the drill's own on spare loopback ports, with
``deploy/services.sh`` (``PRIMARY_DIR``: a PostgreSQL primary made with initdb, a streaming
replica made with ``pg_basebackup -R``, a cache Redis and a broker Redis), then gunicorn with
``deploy/gunicorn.conf.py``, a Celery worker and Celery beat, in production mode. It never stops
the machine's own PostgreSQL, Redis or the shared test replica.

``Load`` drives steady, bounded traffic: anonymous page and API reads, a logged-in reader of the
author dashboard, logged-in comment writes and API post writes with a token. Every write carries a
unique marker, so afterwards the primary tells which acknowledged writes are missing (lost) and
which were stored more than once (duplicates).

``FAULTS`` stops and restarts one service each, with a healthy pause between: the cache Redis, the
broker Redis, the worker (SIGKILL mid-task), beat, the replica (stopped, then replay paused) and
the primary (restarted). Each prints one JSON line; the last line holds them all.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import math
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import redis

BASE_DIR = Path(__file__).resolve().parent.parent
DB_NAME = "django_at_scale_chaos"
DEMO_USER, DEMO_PASSWORD = "demo", "demo-password"
MARKER = re.compile(r"chaos-[0-9a-f]{32}")
RECOVERY_LIMIT_S = 30.0


def log(message: str) -> None:
    print(f"chaos: {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(predicate: Callable[[], Any], timeout: float, interval: float = 0.1) -> float | None:
    """Poll ``predicate`` until it is truthy; return the monotonic time it was, or None on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if predicate():
                return time.monotonic()
        time.sleep(interval)
    return None


# --- The drill's own services and processes -----------------------------------------------------


@dataclass
class Stack:
    """PostgreSQL primary + replica, two Redis servers, gunicorn, a worker and beat, all the drill's own."""

    root: Path
    web_workers: int = 2
    settings: dict[str, str] = field(default_factory=dict)
    primary_port: int = field(default_factory=free_port)
    replica_port: int = field(default_factory=free_port)
    cache_port: int = field(default_factory=free_port)
    broker_port: int = field(default_factory=free_port)
    web_port: int = field(default_factory=free_port)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    @property
    def primary_dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.primary_port}/{DB_NAME}"

    def services(self, command: str, *, redis_port: int | None = None) -> float:
        """Run ``deploy/services.sh command`` on the drill's own services; return when it finished."""
        services_dir = self.root / "services"
        env = {
            **os.environ,
            "SERVICES_DIR": str(services_dir),
            "PRIMARY_DIR": str(services_dir / "primary"),
            "PRIMARY_PORT": str(self.primary_port),
            "REPLICA_PORT": str(self.replica_port),
            "REDIS_PORT": str(redis_port or self.cache_port),
            "REDIS_APPENDONLY": "yes",  # both Redis servers keep their data over a restart
            "DB_NAME": DB_NAME,
        }
        result = subprocess.run(
            ["deploy/services.sh", command], cwd=BASE_DIR, env=env, capture_output=True, text=True, check=False
        )
        if result.returncode:
            raise RuntimeError(f"deploy/services.sh {command} failed:\n{result.stdout}\n{result.stderr}")
        return time.monotonic()

    def env(self, process_type: str) -> dict[str, str]:
        """Production settings pointed at the drill's services."""
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("DJANGO_", "DATABASE_", "REPLICA_", "REDIS_", "CELERY_", "GUNICORN_", "API_"))
        }
        env.update(
            {
                # The site's settings plus a header naming the database each query ran on.
                "DJANGO_SETTINGS_MODULE": "benchmarks.replica_settings",
                "DJANGO_PROCESS_TYPE": process_type,
                "DJANGO_DEBUG": "0",
                "DJANGO_SECRET_KEY": "chaos-drill-only-secret-key",
                "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
                "DJANGO_STATIC_MANIFEST": "0",
                "DJANGO_LOG_LEVEL": "WARNING",
                "DJANGO_VAR_DIR": str(self.root / "var"),
                "MONITORING_METRICS_DIR": str(self.root / "metrics"),
                "MONITORING_METRICS_ALLOWED_NETWORKS": "127.0.0.1/32",
                "DATABASE_URL": self.primary_dsn.replace("postgresql://", "postgres://"),
                "REPLICA_DATABASE_URLS": f"postgres://postgres@127.0.0.1:{self.replica_port}/{DB_NAME}",
                "REDIS_URL": f"redis://127.0.0.1:{self.cache_port}/0",
                "CELERY_BROKER_URL": f"redis://127.0.0.1:{self.broker_port}/0",
                # The load is one client: throttles would turn it into 429s, which is not the drill.
                "API_THROTTLE_ANON_RATE": "100000/min",
                "API_THROTTLE_USER_RATE": "100000/min",
                "API_THROTTLE_WRITE_RATE": "100000/min",
                "GUNICORN_BIND": f"127.0.0.1:{self.web_port}",
                "GUNICORN_WORKERS": str(self.web_workers),
                "GUNICORN_ACCESSLOG": "",
                # The slow background-cached value of benchmarks/urls.py goes stale this often.
                "BENCH_CACHE_REFRESH_SECONDS": "3",
            }
        )
        env.update(self.settings)
        return env

    def manage(self, *args: str) -> None:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=BASE_DIR,
            env=self.env("command"),
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")

    def up(self, *, posts: int) -> None:
        """Make and start the services, migrate, seed ``posts`` demo posts, and start web, worker and beat."""
        (self.root / "var").mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o755)  # PostgreSQL runs as the postgres user and must reach its folders
        log(f"services in {self.root}: primary {self.primary_port}, replica {self.replica_port}, "
            f"cache {self.cache_port}, broker {self.broker_port}")  # fmt: skip
        self.services("up")
        self.services("redis-start", redis_port=self.broker_port)
        self.manage("migrate", "--noinput", "-v", "0")
        self.manage("seed_demo", "--posts", str(posts), "--if-empty", "--allow-production")
        for name in ("web", "worker", "beat"):
            self.start(name)

    def command(self, name: str) -> list[str]:
        python = sys.executable
        if name == "web":
            return [python, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "project.wsgi"]
        if name == "worker":
            return [
                *(python, "-m", "celery", "-A", "project", "worker", "-l", "warning"),
                *("-Q", "celery,querykiller", "-c", "2", "-n", f"chaos-{self.web_port}@%h"),
            ]
        if name == "beat":
            return [
                *(python, "-m", "celery", "-A", "project", "beat", "-l", "warning"),
                *("--pidfile", str(self.root / "beat.pid"), "-s", str(self.root / "var" / "celerybeat-schedule")),
            ]
        raise ValueError(name)

    def spawn(self, name: str) -> subprocess.Popen[bytes]:
        """Start process ``name`` in a session of its own (so a fault can kill its whole group)."""
        logfile = (self.root / f"{name}.log").open("ab")
        return subprocess.Popen(
            self.command(name),
            cwd=BASE_DIR,
            env=self.env(name),
            stdout=logfile,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def start(self, name: str) -> float:
        """Start web, worker or beat and wait until it serves (web) or runs (worker, beat)."""
        process = self.processes[name] = self.spawn(name)
        if name == "web":
            if wait_until(lambda: http_status(self.base + "/healthz") == 200, timeout=60) is None:
                raise RuntimeError(f"gunicorn did not start:\n{self.tail('web')}")
        elif name == "worker":
            if wait_until(lambda: self.worker_ready(), timeout=60, interval=0.5) is None:
                raise RuntimeError(f"the worker did not start:\n{self.tail('worker')}")
        elif name == "beat" and (
            wait_until(lambda: (self.root / "beat.pid").exists(), timeout=60) is None or process.poll() is not None
        ):
            raise RuntimeError(f"beat did not start:\n{self.tail('beat')}")
        return time.monotonic()

    def worker_ready(self) -> bool:
        """A worker is consuming: the broker lists its connection as waiting on the queues."""
        process = self.processes.get("worker")
        return process is not None and process.poll() is None and self.consumers() > 0

    def consumers(self) -> int:
        """Clients of the broker blocked on a queue (a worker waiting for tasks)."""
        return sum(1 for client in self.broker().client_list() if client.get("cmd") in {"brpop", "blpop"})

    def kill(self, name: str, sig: signal.Signals = signal.SIGKILL) -> float:
        """Send ``sig`` to every process of ``name``'s group (a worker's pool children included)."""
        process = self.processes.pop(name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        # The group's other members (pool children) may outlive the leader for a moment.
        wait_until(lambda: not group_alive(process.pid), timeout=10)
        return time.monotonic()

    def tail(self, name: str, size: int = 3000) -> str:
        path = self.root / f"{name}.log"
        return path.read_text(errors="replace")[-size:] if path.exists() else ""

    def broker(self) -> redis.Redis:
        return redis.Redis(port=self.broker_port, socket_timeout=2, socket_connect_timeout=1)

    def cache(self) -> redis.Redis:
        return redis.Redis(port=self.cache_port, socket_timeout=2, socket_connect_timeout=1)

    def web_worker_pids(self) -> set[int]:
        """The pids of gunicorn's workers (children of the master)."""
        master = self.processes["web"].pid
        result = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True, check=False)
        return {int(pid) for pid in result.stdout.split()}

    def metrics(self) -> str:
        connection = http.client.HTTPConnection("127.0.0.1", self.web_port, timeout=10)
        connection.request("GET", "/metrics")
        return connection.getresponse().read().decode()

    def tasks_done(self, task: str | None = None) -> float:
        """Tasks finished successfully so far, all or one by name, from /metrics."""
        total = 0.0
        for line in self.metrics().splitlines():
            if (
                line.startswith("celery_task_duration_seconds_count{")
                and 'outcome="success"' in line
                and (task is None or f'task="{task}"' in line)
            ):
                total += float(line.rsplit(" ", 1)[1])
        return total

    def down(self) -> None:
        """Stop every process and service the drill started, and remove its folder."""
        for name in list(self.processes):
            with contextlib.suppress(Exception):
                self.kill(name, signal.SIGTERM)
        for port in (self.cache_port, self.broker_port):
            with contextlib.suppress(Exception):
                self.services("redis-stop", redis_port=port)
        with contextlib.suppress(Exception):
            self.services("down")
        shutil.rmtree(self.root, ignore_errors=True)


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def http_status(url: str) -> int:
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.netloc, timeout=5)
    try:
        connection.request("GET", parts.path)
        return connection.getresponse().status
    except (OSError, http.client.HTTPException):
        return 0
    finally:
        connection.close()


@contextlib.contextmanager
def running_stack(*, posts: int, root: Path | None = None, **options: Any) -> Iterator[Stack]:
    """Yield a started ``Stack`` in a fresh folder; stop and remove all of it afterwards."""
    folder = root or Path(tempfile.mkdtemp(prefix="chaos-", dir="/var/tmp"))
    stack = Stack(root=folder, **options)
    try:
        stack.up(posts=posts)
        yield stack
    finally:
        stack.down()


# --- Load ----------------------------------------------------------------------------------------


@dataclass
class Sample:
    started: float
    finished: float
    kind: str  # read, dashboard, comment, api_post
    status: int  # 0: no response (connection refused, reset or timed out)
    on_default: int = 0
    on_replica: int = 0
    session_lost: bool = False
    retry_after: bool = False
    path: str = ""


@dataclass
class Load:
    """Steady traffic from a few threads, each pausing between requests so the rate stays bounded."""

    base: str
    posts: int
    readers: int = 3
    pause: float = 0.05
    samples: list[Sample] = field(default_factory=list)
    # marker -> (kind, status, time sent) for every write sent
    writes: dict[str, tuple[str, int, float]] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def since(self, started: float, until: float | None = None) -> list[Sample]:
        """Requests started after ``started`` (and before ``until``)."""
        with self.lock:
            return [s for s in self.samples if s.started >= started and (until is None or s.started <= until)]

    def during(self, began: float, ended: float) -> list[Sample]:
        """Requests in flight at any time between ``began`` and ``ended``."""
        with self.lock:
            return [s for s in self.samples if s.finished >= began and s.started <= ended]

    def request(
        self,
        connection: http.client.HTTPConnection,
        kind: str,
        method: str,
        path: str,
        body: str = "",
        headers: dict[str, str] | None = None,
        marker: str | None = None,
    ) -> tuple[http.client.HTTPResponse | None, bytes]:
        started = time.monotonic()
        response: http.client.HTTPResponse | None
        try:
            connection.request(method, path, body=body or None, headers=headers or {})
            response = connection.getresponse()
            content = response.read()
            status = response.status
        except (OSError, http.client.HTTPException):
            connection.close()
            response, content, status = None, b"", 0
        counts: dict[str, str] = {}
        if response is not None:
            raw = response.getheader("X-Bench-Queries") or ""
            counts = dict(item.split("=", 1) for item in raw.split(",") if "=" in item)
        location = response.getheader("Location", "") if response is not None else ""
        sample = Sample(
            started,
            time.monotonic(),
            kind,
            status,
            int(counts.get("default", 0)),
            sum(int(n) for alias, n in counts.items() if alias != "default"),
            session_lost=kind != "read" and "/accounts/login/" in location,
            retry_after=response is not None and bool(response.getheader("Retry-After")),
            path=path,
        )
        with self.lock:
            self.samples.append(sample)
            if marker:
                self.writes[marker] = (kind, status, started)
        return response, content

    def connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(urllib.parse.urlsplit(self.base).netloc, timeout=30)

    def published_slug(self) -> str:
        """A random published demo post (seed_demo makes every tenth one a draft)."""
        number = random.randint(1, self.posts)  # noqa: S311 - load spreading, not security
        return f"demo-{number if number % 10 else max(1, number - 1)}"

    def reader(self) -> None:
        connection = self.connection()
        while not self.stop.is_set():
            path = random.choice(  # noqa: S311
                [
                    "/",
                    "/api/v1/posts/",
                    "/api/v1/tags/",
                    f"/posts/{self.published_slug()}/",
                    # A background-cached value as slow as a real aggregation: keeps the worker busy.
                    f"/bench/cache/background/{random.randrange(10)}/",  # noqa: S311
                ]
            )
            self.request(connection, "read", "GET", path)
            time.sleep(self.pause)

    def logged_in(self, connection: http.client.HTTPConnection) -> dict[str, str]:
        """Log in through the login form (retrying while the site is down); return the cookies."""
        cookies: dict[str, str] = {}
        while not self.stop.is_set():
            response, _ = self.request(connection, "login", "GET", "/accounts/login/")
            remember(cookies, response)
            form = urllib.parse.urlencode(
                {"username": DEMO_USER, "password": DEMO_PASSWORD, "csrfmiddlewaretoken": cookies.get("csrftoken", "")}
            )
            headers = {"Content-Type": "application/x-www-form-urlencoded", "Referer": self.base, **cookie(cookies)}
            response, _ = self.request(connection, "login", "POST", "/accounts/login/", form, headers)
            remember(cookies, response)
            if response is not None and response.status == 302 and "sessionid" in cookies:
                return cookies
            time.sleep(1)
        return cookies

    def commenter(self) -> None:
        connection = self.connection()
        cookies = self.logged_in(connection)
        while not self.stop.is_set():
            marker = f"chaos-{uuid.uuid4().hex}"
            body = urllib.parse.urlencode(
                {"body": f"A drill comment {marker}.", "csrfmiddlewaretoken": cookies.get("csrftoken", "")}
            )
            headers = {"Content-Type": "application/x-www-form-urlencoded", "Referer": self.base, **cookie(cookies)}
            path = f"/posts/{self.published_slug()}/comments/"
            response, _ = self.request(connection, "comment", "POST", path, body, headers, marker=marker)
            remember(cookies, response)
            time.sleep(self.pause * 2)

    def dashboard(self) -> None:
        connection = self.connection()
        cookies = self.logged_in(connection)
        while not self.stop.is_set():
            response, _ = self.request(connection, "dashboard", "GET", "/dashboard/", headers=cookie(cookies))
            remember(cookies, response)
            time.sleep(self.pause * 2)

    def api_writer(self) -> None:
        connection = self.connection()
        token = ""
        while not token and not self.stop.is_set():
            body = json.dumps({"username": DEMO_USER, "password": DEMO_PASSWORD})
            response, content = self.request(
                connection, "login", "POST", "/api/v1/auth/token/", body, {"Content-Type": "application/json"}
            )
            if response is not None and response.status == 200:
                token = json.loads(content)["token"]
            else:
                time.sleep(1)
        headers = {"Content-Type": "application/json", "Authorization": f"Token {token}"}
        while not self.stop.is_set():
            marker = f"chaos-{uuid.uuid4().hex}"
            body = json.dumps({"title": f"Drill post {marker}", "body": f"Written by the fault drill: {marker}."})
            self.request(connection, "api_post", "POST", "/api/v1/posts/", body, headers, marker=marker)
            time.sleep(self.pause * 4)

    @contextlib.contextmanager
    def running(self) -> Iterator[Load]:
        targets = [self.reader] * self.readers + [self.commenter, self.dashboard, self.api_writer]
        threads = [threading.Thread(target=target, daemon=True) for target in targets]
        for thread in threads:
            thread.start()
        try:
            yield self
        finally:
            self.stop.set()
            for thread in threads:
                thread.join(timeout=60)


def remember(cookies: dict[str, str], response: http.client.HTTPResponse | None) -> None:
    for header in (response.headers.get_all("Set-Cookie") or []) if response is not None else []:
        name, _, rest = header.partition("=")
        value = rest.split(";", 1)[0]
        if value and value != '""':
            cookies[name] = value


def cookie(cookies: dict[str, str]) -> dict[str, str]:
    return {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())} if cookies else {}


def lost_writes(stack: Stack, writes: dict[str, tuple[str, int, float]]) -> dict[str, int]:
    """Count acknowledged writes missing from the primary, and writes stored more than once."""
    stored: dict[str, int] = {}
    with psycopg.connect(stack.primary_dsn, connect_timeout=10) as connection:
        for sql in (
            "SELECT substring(body from 'chaos-[0-9a-f]{32}') FROM blog_comment WHERE body LIKE '%%chaos-%%'",
            "SELECT substring(title from 'chaos-[0-9a-f]{32}') FROM blog_post WHERE title LIKE '%%chaos-%%'",
        ):
            for (marker,) in connection.execute(sql):
                stored[marker] = stored.get(marker, 0) + 1
    acknowledged = {m for m, (kind, status, _) in writes.items() if status in ({302} if kind == "comment" else {201})}
    missing = sum(1 for marker in acknowledged if marker not in stored)
    duplicates = sum(count - 1 for marker, count in stored.items() if marker in writes and count > 1)
    return {"missing": missing, "duplicates": duplicates, "acknowledged": len(acknowledged)}


# --- Faults --------------------------------------------------------------------------------------


@dataclass
class Timing:
    """How long a fault lasts and the pauses around it."""

    down_s: float = 10.0
    healthy_s: float = 10.0
    recovery_limit_s: float = RECOVERY_LIMIT_S
    # Called once while the service is down (tests probe the responses); its result is reported.
    while_down: Callable[[Stack], Any] | None = None

    def probe(self, stack: Stack, run: FaultRun) -> None:
        if self.while_down is not None:
            run.checks["while_down"] = self.while_down(stack)


@dataclass
class FaultRun:
    """One fault's measurements: when it began, when the service returned and when the site recovered."""

    name: str
    began: float
    returned: float = 0.0
    recovered: float | None = None
    ended: float = 0.0
    checks: dict[str, Any] = field(default_factory=dict)


def p99(values: list[float]) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(0.99 * len(ordered)) - 1)]


def figures(stack: Stack, load: Load, run: FaultRun) -> dict[str, Any]:
    """The fault's JSON line."""
    samples = load.during(run.began, run.ended)
    with load.lock:
        writes = {m: w for m, w in load.writes.items() if run.began <= w[2] <= run.ended}
    lost = lost_writes(stack, writes)
    return {
        "fault": run.name,
        "requests": len(samples),
        "errors_5xx": sum(1 for s in samples if s.status >= 500 and s.status != 503),
        "errors_503": sum(1 for s in samples if s.status == 503),
        "lost_writes": lost["missing"] + lost["duplicates"],
        "p99_ms": round(1000 * p99([s.finished - s.started for s in samples]), 1),
        "recovered_s": round(run.recovered - run.returned, 2) if run.recovered is not None else None,
        "connection_errors": sum(1 for s in samples if s.status == 0),
        "writes_acknowledged": lost["acknowledged"],
        "sessions_lost": sum(1 for s in samples if s.session_lost),
        **run.checks,
    }


def ok_after(load: Load, since: float, kinds: set[str], predicate: Callable[[Sample], bool] | None = None) -> bool:
    """A request of one of ``kinds`` started after ``since`` succeeded (and meets ``predicate``)."""
    return any(
        s.kind in kinds and 200 <= s.status < 400 and (predicate is None or predicate(s)) for s in load.since(since)
    )


def fault_cache_redis(stack: Stack, load: Load, timing: Timing) -> FaultRun:
    """Stop the cache Redis: pages answer from the database, sessions from their database copy."""
    run = FaultRun("cache_redis", time.monotonic())
    stack.services("redis-stop", redis_port=stack.cache_port)
    timing.probe(stack, run)
    time.sleep(timing.down_s)
    run.returned = stack.services("redis-start", redis_port=stack.cache_port)

    def cache_used_again() -> bool:
        # The restarted server's command counts start from zero: reads by the site mean it is back in use.
        stats = stack.cache().info("commandstats")
        return ok_after(load, run.returned, {"read"}) and any(
            stats.get(f"cmdstat_{name}", {}).get("calls", 0) for name in ("get", "mget", "evalsha", "set")
        )

    run.recovered = wait_until(cache_used_again, timing.recovery_limit_s)
    return run


def fault_broker_redis(stack: Stack, load: Load, timing: Timing) -> FaultRun:
    """Stop the broker Redis: writes still answer; tasks run again once it returns."""
    run = FaultRun("broker_redis", time.monotonic())
    stack.services("redis-stop", redis_port=stack.broker_port)
    timing.probe(stack, run)
    time.sleep(timing.down_s)
    run.returned = stack.services("redis-start", redis_port=stack.broker_port)
    done = stack.tasks_done()
    run.recovered = wait_until(lambda: stack.tasks_done() > done, timing.recovery_limit_s, interval=0.5)
    return run


def fault_worker(stack: Stack, load: Load, timing: Timing) -> FaultRun:
    """SIGKILL the whole worker mid-task; its unacknowledged messages are handed out again."""
    run = FaultRun("worker", time.monotonic())
    broker = stack.broker()
    # Kill it in the middle of tasks: wait until it holds unacknowledged messages.
    wait_until(lambda: broker.hlen("unacked"), timeout=10, interval=0.02)
    in_flight = set(broker.hkeys("unacked"))
    stack.kill("worker", signal.SIGKILL)
    in_flight |= set(broker.hkeys("unacked"))  # messages the dead worker held
    queue_at_kill = broker.llen("celery")
    timing.probe(stack, run)
    time.sleep(timing.down_s)
    queue_max = max(queue_at_kill, broker.llen("celery"))
    run.returned = stack.start("worker")
    done = stack.tasks_done()
    visibility = float(stack.env("worker").get("CELERY_VISIBILITY_TIMEOUT", "300"))

    def resumed_and_redelivered() -> bool:
        return stack.tasks_done() > done and not (in_flight & set(broker.hkeys("unacked")))

    # Messages the dead worker held come back once unacknowledged for CELERY_VISIBILITY_TIMEOUT.
    run.recovered = wait_until(resumed_and_redelivered, max(timing.recovery_limit_s, visibility + 15), interval=0.5)
    run.checks |= {
        "in_flight_at_kill": len(in_flight),
        "in_flight_not_redelivered": len(in_flight & set(broker.hkeys("unacked"))),
        "queue_at_kill": queue_at_kill,
        "queue_max": max(queue_max, broker.llen("celery")),
    }
    return run


def fault_beat(stack: Stack, load: Load, timing: Timing) -> FaultRun:
    """Kill beat; a second beat is refused while one runs; the query killer resumes on schedule."""
    run = FaultRun("beat", time.monotonic())
    second = stack.spawn("beat")
    try:
        second_beat_refused = second.wait(timeout=60) != 0
    except subprocess.TimeoutExpired:
        os.killpg(second.pid, signal.SIGKILL)
        second_beat_refused = False
    stack.kill("beat", signal.SIGKILL)
    timing.probe(stack, run)
    time.sleep(timing.down_s)
    run.returned = stack.start("beat")
    task = "project.querykiller.kill_long_queries_task"
    done = stack.tasks_done(task)
    run.recovered = wait_until(lambda: stack.tasks_done(task) > done, timing.recovery_limit_s, interval=0.5)
    run.checks |= {"second_beat_refused": second_beat_refused}
    return run


def fault_replica(stack: Stack, load: Load, timing: Timing) -> FaultRun:
    """Stop the replica, then pause its replay: reads move to the primary and come back."""

    def on_primary(s: Sample) -> bool:
        return s.on_default > 0 and s.on_replica == 0

    def on_replica(s: Sample) -> bool:
        return s.on_replica > 0

    def first(since: float, predicate: Callable[[Sample], bool]) -> float | None:
        found = wait_until(lambda: ok_after(load, since, {"read"}, predicate), timing.recovery_limit_s, interval=0.05)
        if found is None:
            return None
        return min(s.finished for s in load.since(since) if s.kind == "read" and predicate(s) and s.status == 200)

    run = FaultRun("replica", time.monotonic())
    stop_issued = time.monotonic()
    stopped = stack.services("replica-stop")
    failover_stop = first(stop_issued, on_primary)
    timing.probe(stack, run)
    time.sleep(timing.down_s)
    returned_stop = stack.services("replica-start")
    back_stop = first(returned_stop, on_replica)
    time.sleep(timing.healthy_s / 2)
    pause_issued = time.monotonic()
    stack.services("replica-pause")
    failover_pause = first(pause_issued, on_primary)
    time.sleep(max(0.0, timing.down_s - (time.monotonic() - pause_issued)))
    run.returned = stack.services("replica-resume")
    back_pause = first(run.returned, on_replica)
    run.recovered = back_pause if back_stop is not None else None
    run.checks |= {
        # From the moment the replica is down (pg_ctl stop returned) to the first read on the primary.
        "failover_stop_ms": round(1000 * max(0.0, failover_stop - stopped)) if failover_stop else None,
        "back_after_start_s": round(back_stop - returned_stop, 2) if back_stop else None,
        "failover_pause_s": round(failover_pause - pause_issued, 2) if failover_pause else None,
    }
    return run


def fault_primary(stack: Stack, load: Load, timing: Timing) -> FaultRun:
    """Restart the primary: 503 with Retry-After meanwhile, then the pools reconnect in place."""
    run = FaultRun("primary", time.monotonic())
    web_workers = stack.web_worker_pids()
    stack.services("primary-stop")
    timing.probe(stack, run)
    time.sleep(timing.down_s)
    run.returned = stack.services("primary-start")
    run.recovered = wait_until(
        lambda: ok_after(load, run.returned, {"comment", "api_post"}), timing.recovery_limit_s, interval=0.05
    )
    # The replica reconnects to the primary by itself; wait so the next fault starts healthy.
    wait_until(lambda: ok_after(load, time.monotonic() - 1, {"read"}, lambda s: s.on_replica > 0), 60)
    run.checks |= {
        "web_workers_restarted": stack.web_worker_pids() != web_workers,
        "retry_after_missing": sum(1 for s in load.since(run.began) if s.status == 503 and not s.retry_after),
    }
    return run


FAULTS: dict[str, Callable[[Stack, Load, Timing], FaultRun]] = {
    "cache_redis": fault_cache_redis,
    "broker_redis": fault_broker_redis,
    "worker": fault_worker,
    "beat": fault_beat,
    "replica": fault_replica,
    "primary": fault_primary,
}


def run_fault(stack: Stack, load: Load, name: str, timing: Timing) -> dict[str, Any]:
    """Inject fault ``name``, wait for recovery and the healthy pause, and return its JSON line."""
    log(f"fault {name}")
    run = FAULTS[name](stack, load, timing)
    time.sleep(timing.healthy_s)
    run.ended = time.monotonic()
    return figures(stack, load, run)


def main() -> None:
    posts = int(os.environ.get("CHAOS_POSTS", "2000"))
    timing = Timing(
        down_s=float(os.environ.get("CHAOS_DOWN_SECONDS", "10")),
        healthy_s=float(os.environ.get("CHAOS_HEALTHY_SECONDS", "10")),
    )
    names = [n for n in os.environ.get("CHAOS_FAULTS", ",".join(FAULTS)).split(",") if n]
    unknown = [n for n in names if n not in FAULTS]
    if unknown:
        raise SystemExit(f"CHAOS_FAULTS: unknown fault(s) {', '.join(unknown)}; choose from {', '.join(FAULTS)}")
    # Messages held by a killed worker come back after this; short, so the drill sees them re-run.
    settings = {"CELERY_VISIBILITY_TIMEOUT": os.environ.get("CHAOS_VISIBILITY_TIMEOUT", "15")}
    results: list[dict[str, Any]] = []
    with running_stack(posts=posts, settings=settings) as stack:
        load = Load(base=stack.base, posts=posts)
        with load.running():
            time.sleep(timing.healthy_s)
            for name in names:
                line = run_fault(stack, load, name, timing)
                results.append(line)
                print(json.dumps(line), flush=True)
        total = lost_writes(stack, load.writes)
    summary = {
        "faults": results,
        "requests": len(load.samples),
        "errors_5xx": sum(r["errors_5xx"] for r in results),
        "errors_503_outside_primary": sum(r["errors_503"] for r in results if r["fault"] != "primary"),
        "lost_writes": total["missing"] + total["duplicates"],
        "writes_acknowledged": total["acknowledged"],
        "max_recovered_s": None
        if any(r["recovered_s"] is None for r in results)
        else max((r["recovered_s"] for r in results), default=None),
        "down_s": timing.down_s,
        "healthy_s": timing.healthy_s,
    }
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
