"""Request and task metrics, /metrics access and multi-process totals, slow-request logs, and the probes."""

from __future__ import annotations

import copy
import itertools
import json
import logging
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db import connections
from django.test import Client
from django.urls import reverse
from kombu import Queue
from pytest_django import DjangoAssertNumQueries, Settings

from blog.tests.factories import PostFactory
from project.celery import app
from project.monitoring.logs import JsonFormatter
from project.monitoring.performance import recorder
from project.monitoring.prometheus import metrics_registry, remove_dead_process_files
from tests.support import free_port, wait_for
from users.tests.factories import StaffFactory, UserFactory

BASE_DIR = Path(__file__).resolve().parents[3]


def sample(name: str, **labels: str) -> float:
    """Read one sample as /metrics would serve it: added up over every process's files."""
    return metrics_registry().get_sample_value(name, labels) or 0.0


@app.task(name="tests.monitoring.explode", ignore_result=True)
def explode() -> None:
    raise ValueError("this task always fails")


@app.task(name="tests.monitoring.succeed", ignore_result=True)
def succeed() -> int:
    return 1


# --- Request metrics -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_request_shows_up_in_the_histograms_with_its_route_method_and_status(
    client: Client, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    post = PostFactory.create(slug="measured")
    labels = {"route": "blog:post", "method": "GET"}
    before = {
        "count": sample("http_request_duration_seconds_count", **labels, status="2xx"),
        "queries": sample("http_request_queries_total", **labels),
        "sql": sample("http_request_sql_seconds_total", **labels),
    }
    # 1: the post and its author, 2: its tags, 3: a page of comments with their authors,
    # 4-5: the older and newer published posts beside it
    with django_assert_num_queries(5):
        response = client.get(post.get_absolute_url())
    assert response.status_code == 200
    assert sample("http_request_duration_seconds_count", **labels, status="2xx") == before["count"] + 1
    assert sample("http_request_queries_total", **labels) == before["queries"] + 5
    assert 0 < sample("http_request_sql_seconds_total", **labels) - before["sql"] < 10
    # The route is the URL name: no series per slug.
    text = metrics_registry_text()
    assert "/posts/measured/" not in text and 'route="blog:post"' in text


@pytest.mark.django_db
def test_errors_and_unknown_paths_are_labelled_by_status_class_and_one_unmatched_route(client: Client) -> None:
    before_404 = sample("http_request_duration_seconds_count", route="<unmatched>", method="GET", status="4xx")
    for number in range(5):
        assert client.get(f"/no-such-page-{number}/").status_code == 404
    assert sample("http_request_duration_seconds_count", route="<unmatched>", method="GET", status="4xx") == (
        before_404 + 5
    )
    # An invented verb is counted as "other", so clients cannot create series at will.
    before_other = sample("http_request_duration_seconds_count", route="blog:home", method="other", status="4xx")
    assert client.generic("BREW", reverse("blog:home")).status_code == 405
    assert sample("http_request_duration_seconds_count", route="blog:home", method="other", status="4xx") == (
        before_other + 1
    )


def metrics_registry_text() -> str:
    import prometheus_client

    return prometheus_client.generate_latest(metrics_registry()).decode()


def test_histogram_buckets_resolve_the_p99_of_a_2_to_50_ms_endpoint() -> None:
    from project.monitoring.metrics import LATENCY_BUCKETS

    inside = [bucket for bucket in LATENCY_BUCKETS if 0.002 <= bucket <= 0.05]
    assert len(inside) >= 15
    widths = [high - low for low, high in itertools.pairwise(inside)]
    assert max(widths) <= 0.01  # p99 known to 10 ms or better anywhere in the range


def test_metrics_add_up_every_process_sharing_the_folder() -> None:
    """Like gunicorn's workers: separate processes serve requests, one /metrics shows their sum.

    Each process exits right after its request, before any scrape: what it had added up in memory
    is recorded at exit.
    """
    code = (
        "import django; django.setup(); from django.test import Client;"
        "assert Client().get('/healthz').status_code == 200"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "project.settings_test"}
    labels = {"route": "healthz", "method": "GET", "status": "2xx"}
    before = sample("http_request_duration_seconds_count", **labels)
    before_fast = sample("http_request_duration_seconds_bucket", **labels, le="30.0")
    for _ in range(3):
        subprocess.run([sys.executable, "-c", code], cwd=BASE_DIR, env=env, check=True, timeout=60)
    assert sample("http_request_duration_seconds_count", **labels) == before + 3
    assert sample("http_request_duration_seconds_bucket", **labels, le="30.0") == before_fast + 3


def test_metrics_add_up_other_hosts_sharing_the_folder_and_cleanup_leaves_them_alone() -> None:
    """Like web and worker containers sharing one volume: each host writes its own subfolder."""
    own = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    other = django_settings.MONITORING_METRICS_DIR / "other-host-for-tests"
    other.mkdir(exist_ok=True)
    labels = {"route": "multi:host", "method": "GET", "status": "2xx"}
    try:
        code = (
            "import django; django.setup();"
            "from project.monitoring.metrics import HTTP_REQUEST_SECONDS;"
            "HTTP_REQUEST_SECONDS.labels('multi:host', 'GET', '2xx').observe(0.02);"
            "import os; print(os.getpid())"
        )
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "project.settings_test"}
        before = sample("http_request_duration_seconds_count", **labels)
        done = subprocess.run(
            [sys.executable, "-c", code], cwd=BASE_DIR, env=env, check=True, timeout=60, capture_output=True, text=True
        )
        assert sample("http_request_duration_seconds_count", **labels) == before + 1
        # The same process's file, as if written by a process on another host with a dead pid.
        written = own / f"histogram_{done.stdout.split()[-1]}.db"
        (other / written.name).write_bytes(written.read_bytes())
        assert sample("http_request_duration_seconds_count", **labels) == before + 2
        remove_dead_process_files(own)
        assert (other / written.name).exists()
        assert not written.exists()  # here the process is gone: its file goes
    finally:
        for path in other.iterdir():
            path.unlink()
        other.rmdir()


def test_only_files_of_processes_that_are_gone_are_removed(tmp_path: Path) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    (tmp_path / f"histogram_{gone.pid}.db").write_bytes(b"")
    (tmp_path / f"counter_{os.getpid()}.db").write_bytes(b"")
    assert remove_dead_process_files(tmp_path) == 1
    assert [path.name for path in tmp_path.iterdir()] == [f"counter_{os.getpid()}.db"]


def test_multiprocess_mode_is_on_so_the_system_check_passes() -> None:
    from project.monitoring.prometheus import check_prometheus_multiprocess_mode, multiprocess_mode

    assert multiprocess_mode() is True
    assert check_prometheus_multiprocess_mode() == []
    assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == str(django_settings.PROMETHEUS_MULTIPROC_DIR)


# --- /metrics is not public ------------------------------------------------------------------------


@pytest.mark.django_db
def test_metrics_refuse_anonymous_users_other_users_and_wrong_tokens(client: Client, settings: Settings) -> None:
    settings.MONITORING_METRICS_TOKEN = "right-token"
    anonymous = client.get("/metrics")
    assert anonymous.status_code == 403
    assert anonymous.json()["error"] == "forbidden"
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong-token").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Basic right-token").status_code == 403
    client.force_login(UserFactory.create())
    assert client.get("/metrics").status_code == 403
    assert b"http_request" not in client.get("/metrics").content


@pytest.mark.django_db
def test_metrics_answer_staff_the_token_and_allowed_networks(client: Client, settings: Settings) -> None:
    settings.MONITORING_METRICS_TOKEN = "right-token"
    with_token = client.get("/metrics", HTTP_AUTHORIZATION="Bearer right-token")
    assert with_token.status_code == 200
    assert with_token["Content-Type"].startswith("text/plain")
    assert b"# TYPE http_request_duration_seconds histogram" in with_token.content

    settings.MONITORING_METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8"]
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="192.168.1.2").status_code == 403

    client.force_login(StaffFactory.create())
    assert client.get("/metrics").status_code == 200


# --- Slow requests ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_slow_request_is_logged_once_with_route_queries_and_slowest_sql(
    client: Client, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    settings.MONITORING_SLOW_REQUEST_MS = 1.0  # read when the middleware loads, at the client's first request
    PostFactory.create_batch(3)
    with caplog.at_level(logging.WARNING, logger="project.monitoring.slow_requests"):
        client.get(reverse("blog:home"))
    [record] = [r for r in caplog.records if r.name == "project.monitoring.slow_requests"]
    assert record.route == "blog:home"  # type: ignore[attr-defined]
    assert record.queries == 2  # type: ignore[attr-defined]
    assert record.slowest_sql.startswith("SELECT")  # type: ignore[attr-defined]
    assert record.duration_ms >= 1.0  # type: ignore[attr-defined]
    line = JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["event"] == "slow_request"
    assert entry["route"] == "blog:home"
    assert entry["level"] == "WARNING"
    assert entry["message"].startswith("slow request GET blog:home")


@pytest.mark.django_db
def test_fast_requests_are_not_logged(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="project.monitoring.slow_requests"):
        client.get("/healthz")
    assert [r for r in caplog.records if r.name == "project.monitoring.slow_requests"] == []


def test_json_logging_is_chosen_by_a_setting(tmp_path: Path) -> None:
    code = "import django; django.setup(); import logging; logging.getLogger('probe').warning('hello', extra={'answer': 42})"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "project.settings_test", "DJANGO_LOG_FORMAT": "json"}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=60, check=True
    )
    entry = json.loads(result.stderr.strip().splitlines()[-1])
    assert entry["message"] == "hello" and entry["answer"] == 42 and entry["logger"] == "probe"
    refused = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=BASE_DIR,
        env={**env, "DJANGO_LOG_FORMAT": "xml"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode != 0
    assert "DJANGO_LOG_FORMAT must be plain or json" in refused.stderr
    assert "Traceback" not in refused.stderr


# --- Celery ----------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_task_runtimes_and_failures_are_recorded_per_task_name(celery_worker: None) -> None:
    failures = sample("celery_task_failures_total", task="tests.monitoring.explode", exception="ValueError")
    failed_runs = sample("celery_task_duration_seconds_count", task="tests.monitoring.explode", outcome="failure")
    runs = sample("celery_task_duration_seconds_count", task="tests.monitoring.succeed", outcome="success")
    explode.delay()
    succeed.delay()
    wait_for(
        lambda: sample("celery_task_duration_seconds_count", task="tests.monitoring.succeed", outcome="success") > runs
    )
    wait_for(
        lambda: sample("celery_task_failures_total", task="tests.monitoring.explode", exception="ValueError") > failures
    )
    assert (
        sample("celery_task_duration_seconds_count", task="tests.monitoring.explode", outcome="failure")
        == failed_runs + 1
    )
    # The same runs reach the admin's Performance page, failures counted as errors.
    minute = int(recorder.clock() // 60)
    figures = recorder.unflushed(minute, "task tests.monitoring.explode")
    assert figures is not None and figures.count >= 1 and figures.errors == figures.count


def purge_site_queues() -> None:
    """Empty both of the site's queues (``control.purge`` only knows the app's default queue)."""
    with app.connection_for_write() as connection:
        for queue in ("celery", "querykiller"):
            Queue(queue).bind(connection.default_channel).purge()


def test_queue_lengths_are_read_from_the_broker_at_scrape_time() -> None:
    purge_site_queues()
    try:
        for _ in range(3):
            succeed.apply_async(queue="celery")
        assert sample("celery_queue_length", queue="celery") == 3
        assert sample("celery_queue_length", queue="querykiller") == 0
        assert sample("celery_broker_up") == 1
    finally:
        purge_site_queues()


def test_an_unreachable_broker_is_a_figure_not_a_failed_scrape(settings: Settings) -> None:
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"
    assert sample("celery_broker_up") == 0
    assert "celery_queue_length{" not in metrics_registry_text()


# --- Health ----------------------------------------------------------------------------------------


def test_healthz_touches_no_service(client: Client) -> None:
    # No django_db mark: a query here would raise "Database access not allowed".
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


# /readyz shows its per-service detail to operators only (here: the metrics token).
OPERATOR = {"Authorization": "Bearer readyz-operator-token"}


@pytest.fixture(autouse=True)
def _operator_token(settings: Any) -> None:
    settings.MONITORING_METRICS_TOKEN = "readyz-operator-token"


@pytest.mark.django_db(databases=["default", "replica"])
def test_readyz_tells_everyone_its_status_but_only_operators_the_details(client: Client, settings: Any) -> None:
    settings.MONITORING_METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8"]
    anonymous = client.get("/readyz")
    assert anonymous.status_code == 200
    assert anonymous.json() == {"status": "ok"}
    assert set(client.get("/readyz", REMOTE_ADDR="10.1.2.3").json()) == {"status", "checks"}
    assert set(client.get("/readyz", headers=OPERATOR).json()) == {"status", "checks"}
    assert client.get("/readyz", headers={"Authorization": "Bearer wrong"}).json() == {"status": "ok"}


@pytest.mark.django_db(databases=["default", "replica"])
def test_readyz_names_each_check_and_is_ok_when_everything_runs(client: Client) -> None:
    response = client.get("/readyz", headers=OPERATOR)
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"primary", "replica", "cache", "broker"}
    assert all(check["ok"] for check in body["checks"].values())
    assert 0 <= body["checks"]["replica"]["lag_seconds"] < 30
    assert body["checks"]["primary"]["critical"] is True and body["checks"]["replica"]["critical"] is False


@pytest.fixture
def replica_alias(settings: Settings) -> Iterator[Callable[..., str]]:
    """Add a replica alias with the given connection changes; removed afterwards."""
    added: list[str] = []

    def add(alias: str, **changes: str) -> str:
        config = copy.deepcopy(connections.settings["replica"])
        config.update(changes)
        connections.settings[alias] = config
        settings.REPLICA_DATABASES = [*django_settings.REPLICA_DATABASES, alias]
        added.append(alias)
        return alias

    yield add
    for alias in added:
        connections[alias].close()
        del connections[alias]  # this thread's connection object (ConnectionHandler.__delitem__)
        del connections.settings[alias]


@pytest.mark.django_db(databases=["default", "replica"])
def test_a_stopped_replica_is_reported_without_failing_the_site(
    client: Client, replica_alias: Callable[..., str]
) -> None:
    replica_alias("replica_stopped", PORT=str(free_port()))
    response = client.get("/readyz", headers=OPERATOR)
    body = response.json()
    assert response.status_code == 200  # the site still reads from the primary
    assert body["status"] == "degraded"
    assert body["checks"]["replica_stopped"]["ok"] is False
    assert "OperationalError" in body["checks"]["replica_stopped"]["error"]
    assert body["checks"]["replica"]["ok"] is True
    assert client.get(reverse("blog:home")).status_code == 200


@pytest.mark.django_db(databases=["default", "replica"])
def test_a_primary_posing_as_replica_is_not_ready(client: Client, replica_alias: Callable[..., str]) -> None:
    replica_alias("replica_primary", PORT=connections.settings["default"]["PORT"] or "5432")
    body = client.get("/readyz", headers=OPERATOR).json()
    assert body["checks"]["replica_primary"]["ok"] is False
    assert "not a standby" in body["checks"]["replica_primary"]["error"]


@pytest.mark.django_db
def test_a_stopped_redis_makes_the_site_unready_but_not_broken(client: Client, settings: Settings) -> None:
    dead = f"redis://127.0.0.1:{free_port()}/0"
    # The site's own (fail-soft) Redis backend, pointed at a closed port.
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": dead}}
    settings.CELERY_BROKER_URL = dead
    response = client.get("/readyz", headers=OPERATOR)
    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "unavailable"
    assert body["checks"]["cache"]["ok"] is False and "ConnectionError" in body["checks"]["cache"]["error"]
    assert body["checks"]["broker"]["ok"] is False
    assert body["checks"]["primary"]["ok"] is True
    assert client.get("/healthz").status_code == 200
    assert client.get(reverse("blog:home")).status_code == 200
