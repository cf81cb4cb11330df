"""One test per fault of the drill (``make chaos``), shorter, on real processes the tests stop and restart.

The module starts services of its own on spare ports (``benchmarks.chaos.Stack``: a PostgreSQL
primary and streaming replica, a cache Redis and a broker Redis, gunicorn with
``deploy/gunicorn.conf.py``, a Celery worker and beat), so stopping them never disturbs the
machine's PostgreSQL, Redis or the shared test replica. Steady load runs through every test; each
fault must end with no 5xx but the primary's 503s, no lost or duplicated write, and recovery within
30 s of the service returning.
"""

from __future__ import annotations

import http.client
import json
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest

from benchmarks.chaos import DEMO_PASSWORD, DEMO_USER, Load, Stack, Timing, remember, run_fault, running_stack

pytestmark = pytest.mark.faults

POSTS = 100
# Short faults; CHAOS_* defaults of `make chaos` are longer. A killed worker's messages come back
# after CELERY_VISIBILITY_TIMEOUT; the query killer runs every QUERY_KILLER_INTERVAL_SECONDS.
SETTINGS = {"CELERY_VISIBILITY_TIMEOUT": "8", "QUERY_KILLER_INTERVAL_SECONDS": "2"}
TIMING = Timing(down_s=3, healthy_s=2)


@pytest.fixture(scope="module")
def drill() -> Iterator[tuple[Stack, Load]]:
    with running_stack(posts=POSTS, settings=SETTINGS) as stack:
        load = Load(base=stack.base, posts=POSTS, readers=2, pause=0.1)
        with load.running():
            yield stack, load


def assert_survived(line: dict[str, Any], *, errors_503: bool = False) -> None:
    """The drill's promises: no 5xx (503 only where allowed), nothing lost, recovered in 30 s."""
    assert line["requests"] > 0, line
    assert line["errors_5xx"] == 0, line
    assert line["connection_errors"] == 0, line
    if not errors_503:
        assert line["errors_503"] == 0, line
    assert line["lost_writes"] == 0, line
    assert line["sessions_lost"] == 0, line
    assert line["recovered_s"] is not None, line
    assert line["recovered_s"] <= 30, line


@pytest.mark.xfail(
    strict=False,
    reason="open (issues 16/17): since the log-in limits fail closed, a clean-clone run saw 503s during "
    "the cache outage; the drill must tell those log-in refusals from outages, or the limits fall back",
)
def test_cache_redis_outage_serves_pages_and_keeps_sessions(drill: tuple[Stack, Load]) -> None:
    stack, load = drill
    line = run_fault(stack, load, "cache_redis", TIMING)
    assert_survived(line)
    assert line["writes_acknowledged"] > 0, line  # logged-in writes went on: sessions survived


def test_broker_redis_outage_keeps_writes_answering_and_tasks_resume(drill: tuple[Stack, Load]) -> None:
    stack, load = drill
    line = run_fault(stack, load, "broker_redis", TIMING)
    assert_survived(line)
    assert line["writes_acknowledged"] > 0, line


@pytest.mark.xfail(
    strict=False,
    reason="open (issue 17): after the merges a clean-clone run once saw no recovery within the short "
    "test's window (recovered_s None); make chaos is the measured run",
)
def test_worker_killed_mid_task_has_its_messages_run_again(drill: tuple[Stack, Load]) -> None:
    stack, load = drill
    line = run_fault(stack, load, "worker", TIMING)
    assert_survived(line)
    assert line["in_flight_at_kill"] > 0, line  # it died in the middle of tasks
    assert line["in_flight_not_redelivered"] == 0, line


def test_beat_killed_resumes_the_query_killer_and_never_runs_twice(drill: tuple[Stack, Load]) -> None:
    stack, load = drill
    line = run_fault(stack, load, "beat", TIMING)
    assert_survived(line)
    assert line["second_beat_refused"] is True, line


def test_replica_stopped_or_lagging_moves_reads_to_the_primary_and_back(drill: tuple[Stack, Load]) -> None:
    stack, load = drill
    line = run_fault(stack, load, "replica", TIMING)
    assert_survived(line)
    assert line["failover_stop_ms"] is not None and line["failover_stop_ms"] <= 1000, line
    assert line["back_after_start_s"] is not None, line
    assert line["failover_pause_s"] is not None, line


def outage_responses(stack: Stack, token: str) -> dict[str, Any]:
    """While the primary is down: an API write and a log-in, each answered 503 with Retry-After."""
    connection = http.client.HTTPConnection("127.0.0.1", stack.web_port, timeout=30)
    connection.request(
        "POST",
        "/api/v1/posts/",
        body=json.dumps({"title": "During the outage", "body": "Not stored."}),
        headers={"Content-Type": "application/json", "Authorization": f"Token {token}"},
    )
    api = connection.getresponse()
    api_body = json.loads(api.read())
    cookies: dict[str, str] = {}
    connection.request("GET", "/accounts/login/")
    page = connection.getresponse()
    page.read()
    remember(cookies, page)
    form = urllib.parse.urlencode(
        {"username": DEMO_USER, "password": DEMO_PASSWORD, "csrfmiddlewaretoken": cookies.get("csrftoken", "")}
    )
    connection.request(
        "POST",
        "/accounts/login/",
        body=form,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Referer": stack.base,
            "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()),
        },
    )
    web = connection.getresponse()
    web_body = web.read().decode()
    return {
        "api": [api.status, api.getheader("Retry-After"), api_body],
        "web": [
            web.status,
            web.getheader("Retry-After"),
            web.getheader("Content-Type"),
            "Back in a moment" in web_body,
        ],
    }


def test_primary_restart_answers_503_with_retry_after_then_reconnects_in_place(drill: tuple[Stack, Load]) -> None:
    stack, load = drill
    connection = http.client.HTTPConnection("127.0.0.1", stack.web_port, timeout=30)
    connection.request(
        "POST",
        "/api/v1/auth/token/",
        body=json.dumps({"username": DEMO_USER, "password": DEMO_PASSWORD}),
        headers={"Content-Type": "application/json"},
    )
    token = json.loads(connection.getresponse().read())["token"]
    timing = Timing(
        down_s=TIMING.down_s, healthy_s=TIMING.healthy_s, while_down=lambda stack: outage_responses(stack, token)
    )

    line = run_fault(stack, load, "primary", timing)

    assert_survived(line, errors_503=True)
    assert line["retry_after_missing"] == 0, line
    assert line["web_workers_restarted"] is False, line  # the pool reconnected in the same processes
    assert line["while_down"]["api"] == [
        503,
        "5",
        {
            "status": 503,
            "code": "database_unavailable",
            "detail": "The database is unavailable. Try again in 5 seconds.",
        },
    ]
    assert line["while_down"]["web"] == [503, "5", "text/html; charset=utf-8", True]
