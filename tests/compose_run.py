"""``make test-compose``: the whole topology under ``docker compose up``, browsed and checked through nginx.

Run after ``deploy/standins/engine.sh`` (a Docker engine and Compose v2) and ``deploy/standins/build.sh``
(the official images, or their stand-ins). It builds the site's images, brings the project's own
docker-compose.yml up (with the ``monitoring`` profile, so flower too) under a project name and host
ports of its own, so a developer's stack on the same engine is left alone, and checks what a user
would: the pages, static files, admin, API, the replica, the background cache, the query killer and
its e-mail, the web processes' database sessions, a restart, scaling, and a replica stopped under
load. Every container, volume and network it made is removed at the end, and within
``COMPOSE_TEST_TIMEOUT`` seconds (default 1500) when something hangs; a failed check prints the logs
of the service it concerns. The last line printed is JSON:

    {"services_healthy", "up_s", "checks_passed", "checks_failed", "errors_5xx_replica_stop", ...}

    python -m tests.compose_run          (``make test-compose`` runs it; exit 1 when a check fails)
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

BASE_DIR = Path(__file__).resolve().parents[1]
PROJECT = os.environ.get("COMPOSE_TEST_PROJECT", "das-compose-test")
TIMEOUT = int(os.environ.get("COMPOSE_TEST_TIMEOUT", "1500"))
DEMO_USER, DEMO_PASSWORD = "demo", "demo-password"  # blog/management/commands/seed_demo.py
SCALE_WEB, SCALE_WORKER = 3, 2


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# The project's file, plus (unless COMPOSE_TEST_SLOW_HOST=0) an overlay that only gives each
# healthcheck more time: the CI machine's cores are shared with other jobs.
FILES = ["--file", "docker-compose.yml"]
if os.environ.get("COMPOSE_TEST_SLOW_HOST", "1") != "0":
    FILES += ["--file", "deploy/compose.slow-host.yml"]
HTTP_PORT, MAILPIT_PORT, FLOWER_PORT = free_port(), free_port(), free_port()
BASE = f"http://127.0.0.1:{HTTP_PORT}"
MAILPIT = f"http://127.0.0.1:{MAILPIT_PORT}"
ENV = {
    **os.environ,
    "HTTP_PORT": str(HTTP_PORT),
    "MAILPIT_UI_PORT": str(MAILPIT_PORT),
    "FLOWER_PORT": str(FLOWER_PORT),
    # Without an .env file a fresh clone runs on the compose file's defaults; so do we, except for
    # fewer gunicorn processes per web copy on a shared machine (the file reads GUNICORN_WORKERS).
    "GUNICORN_WORKERS": os.environ.get("GUNICORN_WORKERS", "2"),
    "COMPOSE_PROGRESS": "plain",
}


def log(message: str) -> None:
    print(f"compose-test: {message}", file=sys.stderr, flush=True)


def compose(*args: str, timeout: float = 600, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run ``docker compose`` on the project's file under this run's project name."""
    command = ["docker", "compose", "--project-name", PROJECT, "--profile", "monitoring", *FILES, *args]
    result = subprocess.run(command, cwd=BASE_DIR, env=ENV, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(command[2:])} failed ({result.returncode}):\n{result.stderr[-4000:]}")
    return result


def sql(service: str, query: str, *, timeout: float = 30) -> str:
    """Run one query with psql inside a postgres container, as the site's role; return the bare output."""
    result = compose(
        "exec", "-T", service, "psql", "--username=blog", "--dbname=blog", "--no-psqlrc", "--tuples-only",
        "--no-align", "--command", query, timeout=timeout,
    )  # fmt: skip
    return result.stdout.strip()


def services_state() -> dict[str, list[str]]:
    """Return each service's containers' health (or state, for one without a healthcheck)."""
    result = compose("ps", "--all", "--format", "json")
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    states: dict[str, list[str]] = {}
    for row in rows:
        states.setdefault(row["Service"], []).append(row.get("Health") or row.get("State", "?"))
    return states


class Browser:
    """A cookie-keeping HTTP client for the site through nginx (urllib, no redirects followed)."""

    def __init__(self) -> None:
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies), NoRedirect())

    def request(
        self, path: str, *, data: dict[str, str] | None = None, timeout: float = 30
    ) -> tuple[int, dict[str, str], str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(BASE + path, data=body)
        try:
            with self.opener.open(request, timeout=timeout) as response:
                return response.status, dict(response.headers), response.read().decode(errors="replace")
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read().decode(errors="replace")

    def get(self, path: str, timeout: float = 30) -> tuple[int, dict[str, str], str]:
        return self.request(path, timeout=timeout)

    def forget(self, name: str) -> None:
        for cookie in list(self.cookies):
            if cookie.name == name:
                self.cookies.clear(cookie.domain, cookie.path, cookie.name)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def get_json(url: str, timeout: float = 10) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.load(response)


def wait_for(predicate: Callable[[], Any], timeout: float, interval: float = 1.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


class Checks:
    """Run named checks, count them, and keep which service to show the logs of when one fails."""

    def __init__(self) -> None:
        self.passed: list[str] = []
        self.failed: list[str] = []
        self.suspects: list[str] = []

    def run(self, name: str, services: list[str], check: Callable[[], Any]) -> Any:
        started = time.monotonic()
        try:
            detail = check()
        except Exception as error:  # a failed check is reported and the run goes on
            self.failed.append(name)
            self.suspects += [s for s in services if s not in self.suspects]
            log(f"FAIL {name} ({time.monotonic() - started:.1f}s): {error}")
            return None
        self.passed.append(name)
        log(f"ok   {name} ({time.monotonic() - started:.1f}s){': ' + str(detail) if detail else ''}")
        return detail


def expect(condition: object, message: str) -> None:
    if not condition:
        raise AssertionError(message)


# --- the checks ----------------------------------------------------------------------------------


def check_pages(browser: Browser) -> dict[str, str]:
    """Home, a post, a static stylesheet, the API list and docs, all through nginx."""
    status, _, home = browser.get("/")
    expect(status == 200, f"home page answered {status}")
    post = re.search(r'href="(/posts/[^"/]+/)"', home)
    expect(post, "no link to a post on the home page")
    assert post is not None
    status, _, page = browser.get(post.group(1))
    expect(status == 200 and ("<article" in page or "<h1" in page), f"post page {post.group(1)} answered {status}")
    css = re.search(r'href="(/static/[^"]+\.css)"', home)
    expect(css, "no stylesheet linked from the home page")
    assert css is not None
    status, headers, _ = browser.get(css.group(1))
    expect(status == 200, f"{css.group(1)} answered {status}")
    expect("text/css" in headers.get("Content-Type", ""), f"{css.group(1)} is {headers.get('Content-Type')}")
    expect("immutable" in headers.get("Cache-Control", ""), "nginx did not serve the hashed file as immutable")
    status, headers, body = browser.get("/api/v1/posts/")
    expect(status == 200 and json.loads(body).get("results"), f"API post list answered {status}")
    status, _, docs = browser.get("/api/v1/docs/")
    expect(status == 200 and "swagger" in docs.lower(), f"API docs answered {status}")
    status, _, schema = browser.get("/api/v1/schema/")
    expect(status == 200 and "openapi" in schema, f"API schema answered {status}")
    return {"post": post.group(1), "css": css.group(1)}


def log_in(browser: Browser) -> None:
    status, _, form = browser.get("/admin/login/?next=/admin/")
    expect(status == 200, f"admin log-in page answered {status}")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)
    expect(token, "no CSRF token in the admin log-in form")
    assert token is not None
    status, headers, _ = browser.request(
        "/admin/login/?next=/admin/",
        data={
            "username": DEMO_USER,
            "password": DEMO_PASSWORD,
            "csrfmiddlewaretoken": token.group(1),
            "next": "/admin/",
        },
    )
    expect(
        status == 302 and headers.get("Location") == "/admin/", f"log-in answered {status} to {headers.get('Location')}"
    )
    status, _, index = browser.get("/admin/")
    expect(status == 200 and "Site administration" in index, f"/admin/ after log-in answered {status}")


def check_first_start() -> str:
    logs = compose("logs", "--no-color", "web").stdout
    applied = sum("Applying " in line for line in logs.splitlines())
    expect(applied > 0, "web applied no migration on an empty database")
    posts = sql("postgres-primary", "SELECT count(*) FROM blog_post")
    expect(int(posts) > 0, "the demo data was not seeded")
    return f"{applied} migrations applied, {posts} demo posts"


def check_replica_streams() -> str:
    expect(sql("postgres-replica", "SELECT pg_is_in_recovery()") == "t", "the replica is not in recovery")
    slot = sql("postgres-primary", "SELECT active FROM pg_replication_slots WHERE slot_name = 'postgres_replica'")
    expect(slot == "t", f"the replica's slot is not active ({slot!r})")
    state = sql("postgres-primary", "SELECT state FROM pg_stat_replication")
    expect(state == "streaming", f"pg_stat_replication says {state!r}")
    return "in recovery, slot active, streaming"


def table_scans(service: str, table: str) -> int:
    return int(
        sql(service, f"SELECT seq_scan + coalesce(idx_scan, 0) FROM pg_stat_user_tables WHERE relname = '{table}'") or 0
    )


def check_admin_reads_from_replica(browser: Browser) -> str:
    """An admin changelist GET (not pinned by a recent write) reads blog_post on the replica only."""
    # The log-in wrote, so this browser is pinned to the primary for REPLICA_PIN_SECONDS: wait it out.
    time.sleep(6)
    for attempt in range(3):
        replica_before, primary_before = (
            table_scans("postgres-replica", "blog_post"),
            table_scans("postgres-primary", "blog_post"),
        )
        status, _, _ = browser.get(f"/admin/blog/post/?q={uuid.uuid4().hex}")
        expect(status == 200, f"the posts changelist answered {status}")

        # Statistics reach the views within a second or so of the backend going idle.
        def replica_read(before: int = replica_before) -> int:
            scans = table_scans("postgres-replica", "blog_post")
            return scans if scans > before else 0

        replica_after = wait_for(replica_read, 15)
        primary_after = table_scans("postgres-primary", "blog_post")
        if replica_after and primary_after == primary_before:
            return f"blog_post scans: replica +{replica_after - replica_before}, primary +0 (attempt {attempt + 1})"
        time.sleep(2)  # a background task read the table meanwhile: try again
    raise AssertionError(f"replica scans {replica_before}->{replica_after}, primary {primary_before}->{primary_after}")


def django_shell(code: str) -> str:
    return compose("exec", "-T", "web", "python", "manage.py", "shell", "--command", code, timeout=120).stdout.strip()


def check_background_cache_refresh(browser: Browser) -> str:
    """A stale value is served at once, and the worker refreshes it."""
    status, _, body = browser.get("/api/v1/stats/")
    expect(status == 200, f"/api/v1/stats/ answered {status}")
    # Age the stored envelope (refreshed_at, value) by an hour, as if nobody had asked for an hour.
    django_shell(
        "from blog.stats import site_stats as f; k = f.key(); t, v = f.cache.get(k); f.cache.set(k, (t - 3600.0, v), None)"
    )
    status, _, body = browser.get("/api/v1/stats/")
    stale = json.loads(body)
    expect(status == 200 and stale["stale"] is True, f"the aged value was not served as stale: {body[:200]}")

    def refreshed() -> dict[str, Any] | None:
        current = json.loads(browser.get("/api/v1/stats/")[2])
        return current if current["stale"] is False and current["computed_at"] > stale["computed_at"] else None

    fresh = wait_for(refreshed, 30)
    expect(fresh, "the worker did not refresh the stale value within 30 s")
    return f"stale value from {stale['computed_at']} replaced by {fresh['computed_at']}"


def check_query_killer() -> str:
    """A 60 s query from psql as the site's role is killed by beat + worker, and the report is mailed."""
    started = time.monotonic()
    marker = f"killer_check_{uuid.uuid4().hex[:8]}"
    result = compose(
        "exec", "-T", "postgres-primary", "psql", "--username=blog", "--dbname=blog", "--no-psqlrc",
        "--command", f"SELECT pg_sleep(60) AS {marker}", timeout=120, check=False,
    )  # fmt: skip
    elapsed = time.monotonic() - started
    expect(result.returncode != 0, f"the query ran its whole 60 s ({elapsed:.0f}s): nothing killed it")
    expect(elapsed < 55, f"the query stopped only after {elapsed:.0f}s")
    error = (result.stderr.strip().splitlines() or ["?"])[0]

    def mailed() -> dict[str, Any] | None:
        messages = get_json(f"{MAILPIT}/api/v1/search?query={marker}")["messages"]
        return messages[0] if messages else None

    message = wait_for(mailed, 30)
    expect(message, "no report of the killed query reached mailpit")
    return f"killed after {elapsed:.0f}s ({error}); mailed: {message['Subject']!r}"


def check_web_sessions(browser: Browser, post_path: str) -> str:
    """The web processes connect as django-web, with the web statement_timeout (25 s by default).

    The name is read on the server; the timeout by its effect: a post page whose query waits on a
    lock held from psql is cancelled by PostgreSQL at the timeout, not cut off by gunicorn at 30 s.
    """
    browser.get("/")
    names = sql(
        "postgres-primary",
        "SELECT DISTINCT application_name FROM pg_stat_activity WHERE usename = 'blog' AND application_name LIKE 'django-%' ORDER BY 1",
    )
    expect("django-web" in names.split(), f"no django-web session on the primary (names: {names.split()})")
    expect("django-command" not in names.split(), f"a long-lived django-command session: {names.split()}")
    # A write (a comment's POST) goes to the primary: hold the comments table locked from psql meanwhile.
    holder = subprocess.Popen(
        ["docker", "compose", "--project-name", PROJECT, *FILES, "exec", "-T", "postgres-primary", "psql", "--username=blog",
         "--dbname=blog", "--no-psqlrc", "--command",
         "BEGIN; LOCK TABLE blog_comment IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(45); COMMIT;"],
        cwd=BASE_DIR, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        time.sleep(2)
        status, _, form = browser.get(post_path)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)
        expect(status == 200 and token, "no comment form on the post page (log-in needed?)")
        assert token is not None
        started = time.monotonic()
        status, _, _ = browser.request(
            f"{post_path}comments/",
            data={"body": "statement_timeout check", "csrfmiddlewaretoken": token.group(1)},
            timeout=60,
        )
        elapsed = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait()
        sql(
            "postgres-primary",
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%LOCK TABLE blog_comment%' AND pid <> pg_backend_pid()",
        )
    logs = compose("logs", "--no-color", "--since", "2m", "web").stdout
    expect(
        "canceling statement due to statement timeout" in logs,
        f"no statement timeout in web's log (answer {status} after {elapsed:.0f}s)",
    )
    expect(20 <= elapsed < 30, f"the blocked write ended after {elapsed:.1f}s, not at the 25 s statement_timeout")
    return f"django-web sessions; a blocked write cancelled by statement_timeout after {elapsed:.1f}s (answer {status})"


def row_counts() -> str:
    return sql(
        "postgres-primary",
        "SELECT (SELECT count(*) FROM blog_post) || '/' || (SELECT count(*) FROM blog_comment) || '/' || (SELECT count(*) FROM users_user)",
    )


def check_restart_keeps_data() -> str:
    before = row_counts()
    compose("down", "--timeout", "20", timeout=300)
    compose("up", "--detach", "--wait", "--wait-timeout", "600", timeout=700)
    after = row_counts()
    expect(before == after, f"posts/comments/users were {before}, after down/up {after}")
    expect(check_replica_streams(), "the replica does not stream after the restart")
    return f"posts/comments/users {after} kept"


def check_scale() -> str:
    compose(
        "up", "--detach", "--wait", "--wait-timeout", "600", "--scale", f"web={SCALE_WEB}", "--scale",
        f"worker={SCALE_WORKER}", timeout=700,
    )  # fmt: skip
    states = services_state()
    expect(len(states["web"]) == SCALE_WEB and set(states["web"]) == {"healthy"}, f"web copies: {states['web']}")
    expect(
        len(states["worker"]) == SCALE_WORKER and set(states["worker"]) == {"healthy"}, f"workers: {states['worker']}"
    )
    duplicates = sql(
        "postgres-primary",
        "SELECT count(*) FROM (SELECT app, name FROM django_migrations GROUP BY 1, 2 HAVING count(*) > 1) d",
    )
    expect(duplicates == "0", f"{duplicates} migrations recorded twice")
    logs = compose("logs", "--no-color", "web").stdout
    prepared = {
        line.split("|")[0].strip()
        for line in logs.splitlines()
        if "No migrations to apply" in line or "Applying " in line
    }
    migrating = {line.split("|")[0].strip() for line in logs.splitlines() if "Applying " in line}
    expect(len(prepared) == SCALE_WEB, f"only {sorted(prepared)} ran the migrations step")
    expect(len(migrating) <= 1, f"more than one web copy applied migrations: {sorted(migrating)}")
    # nginx asks Docker's DNS again every 10 s: let it learn the new copies, then spread requests.
    time.sleep(12)
    marker = uuid.uuid4().hex[:8]
    for number in range(10 * SCALE_WEB):
        urllib.request.urlopen(f"{BASE}/healthz?scale={marker}-{number}", timeout=10).read()
    logs = compose("logs", "--no-color", "web").stdout
    served = {line.split("|")[0].strip() for line in logs.splitlines() if f"scale={marker}" in line}
    expect(len(served) == SCALE_WEB, f"requests reached {sorted(served)}, not all {SCALE_WEB} copies")
    return f"{SCALE_WEB} web copies all served requests, {SCALE_WORKER} workers, migrations applied once"


def check_replica_stop_under_load(post_path: str) -> int:
    """Stop the replica while clients read: every answer stays below 500. Returns the 5xx count."""
    paths = ["/", post_path, "/api/v1/posts/", "/api/v1/stats/"]
    answers: list[int] = []
    stop = threading.Event()

    def client(offset: int) -> None:
        number = offset
        while not stop.is_set():
            try:
                with urllib.request.urlopen(BASE + paths[number % len(paths)], timeout=30) as response:
                    answers.append(response.status)
            except urllib.error.HTTPError as error:
                answers.append(error.code)
            except OSError:
                answers.append(599)  # no answer at all counts as a server error
            number += 1

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(5)
    compose("stop", "--timeout", "10", "postgres-replica")
    time.sleep(15)
    compose("start", "postgres-replica")
    time.sleep(10)
    stop.set()
    for thread in threads:
        thread.join(timeout=40)
    errors = sum(status >= 500 for status in answers)
    log(f"replica stop under load: {len(answers)} answers, {errors} 5xx")
    expect(len(answers) > 50, f"only {len(answers)} answers under load")
    wait_for(lambda: services_state().get("postgres-replica") == ["healthy"], 120, 3)
    return errors


# --- the run -------------------------------------------------------------------------------------


class Deadline(Exception):
    pass


def on_alarm(signum: int, frame: FrameType | None) -> None:
    if signum == signal.SIGALRM:
        raise Deadline(f"the run passed COMPOSE_TEST_TIMEOUT ({TIMEOUT}s)")
    raise Deadline(f"stopped by signal {signal.Signals(signum).name}")


def main() -> int:
    checks = Checks()
    figures: dict[str, Any] = {
        "services_healthy": 0,
        "up_s": None,
        "checks_passed": 0,
        "checks_failed": 0,
        "errors_5xx_replica_stop": None,
    }
    signal.signal(signal.SIGALRM, on_alarm)
    signal.signal(signal.SIGTERM, on_alarm)
    signal.alarm(TIMEOUT)
    try:
        compose("down", "--volumes", "--remove-orphans", "--timeout", "5", timeout=120)  # what a killed run left
        started = time.monotonic()
        compose("build", timeout=1800)
        figures["build_s"] = round(time.monotonic() - started, 1)
        log(f"built the site's images in {figures['build_s']}s")
        started = time.monotonic()
        up = compose("up", "--detach", "--wait", "--wait-timeout", "600", timeout=700, check=False)
        figures["up_s"] = round(time.monotonic() - started, 1)
        states = services_state()
        figures["services_healthy"] = sum(set(s) == {"healthy"} for s in states.values())
        unhealthy = [name for name, s in states.items() if set(s) != {"healthy"}]
        log(f"up in {figures['up_s']}s: {figures['services_healthy']}/{len(states)} services healthy {states}")
        if up.returncode != 0 or unhealthy:
            checks.failed.append("every service healthy")
            checks.suspects += unhealthy or list(states)
            log(up.stderr[-3000:])
            return 1
        checks.passed.append("every service healthy")
        # On the new, empty volumes the one web copy applied every migration and seeded the demo.
        checks.run("first start migrated and seeded", ["web"], check_first_start)

        browser = Browser()
        pages = checks.run("pages through nginx", ["nginx", "web"], lambda: check_pages(browser)) or {}
        post_path = pages.get("post", "/")
        checks.run("admin log-in with the demo account", ["web"], lambda: log_in(browser))
        checks.run("replica in recovery and streaming", ["postgres-replica", "postgres-primary"], check_replica_streams)
        checks.run(
            "admin GET read from the replica",
            ["web", "postgres-replica"],
            lambda: check_admin_reads_from_replica(browser),
        )
        # The killer check waits on beat's schedule: run it while the others go on.
        killer = threading.Thread(
            target=checks.run,
            args=("long query killed and reported", ["beat", "worker", "mailpit"], check_query_killer),
        )
        killer.start()
        checks.run(
            "stale cache value refreshed by the worker",
            ["worker", "web"],
            lambda: check_background_cache_refresh(browser),
        )
        checks.run(
            "web sessions: django-web, web statement_timeout",
            ["web", "postgres-primary"],
            lambda: check_web_sessions(browser, post_path),
        )
        killer.join()
        checks.run("down/up keeps the data", ["postgres-primary", "postgres-replica", "web"], check_restart_keeps_data)
        checks.run(f"--scale web={SCALE_WEB} --scale worker={SCALE_WORKER}", ["web", "worker", "nginx"], check_scale)
        errors = checks.run(
            "replica stopped under load: 0 responses 5xx",
            ["web", "nginx", "postgres-replica"],
            lambda: check_replica_stop_under_load(post_path),
        )
        figures["errors_5xx_replica_stop"] = errors
        if errors:
            checks.passed.remove("replica stopped under load: 0 responses 5xx")
            checks.failed.append("replica stopped under load: 0 responses 5xx")
            checks.suspects += ["web", "nginx"]
        return 1 if checks.failed else 0
    except Exception as error:  # Deadline, or the engine itself failing: report, then clean up
        log(f"error: {error}")
        checks.failed.append(f"run stopped: {str(error).splitlines()[0]}")
        try:  # show the logs of whatever is not healthy (yet)
            unwell = [name for name, s in services_state().items() if set(s) != {"healthy"}]
        except (RuntimeError, subprocess.SubprocessError):
            unwell = []
        checks.suspects += [name for name in unwell if name not in checks.suspects]
        return 1
    finally:
        signal.alarm(0)
        for service in checks.suspects:
            log(f"--- logs of {service} ---")
            print(
                compose("logs", "--no-color", "--tail", "150", service, check=False, timeout=60).stdout, file=sys.stderr
            )
        down = compose("down", "--volumes", "--remove-orphans", "--timeout", "10", check=False, timeout=180)
        log("removed every container, volume and network" if down.returncode == 0 else f"down failed: {down.stderr}")
        figures["checks_passed"] = len(checks.passed)
        figures["checks_failed"] = len(checks.failed)
        figures["failed"] = checks.failed
        print(json.dumps(figures), flush=True)


if __name__ == "__main__":
    sys.exit(main())
