"""The admin's Performance page and its bounded per-minute store: percentiles, roll-ups, expiry."""

from __future__ import annotations

import random
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from pytest_django import DjangoAssertNumQueries

from blog.tests.factories import PostFactory
from project.monitoring.performance import (
    GAMMA,
    HOUR_ROLLUP_MINUTE,
    MAX_WRITERS,
    MINUTE_TTL,
    ROLLUP_DELAY_MINUTES,
    WRITER_TTL,
    Figures,
    PerformanceRecorder,
    hour_key,
    minute_key,
    writer_key,
)
from project.monitoring.views import WINDOWS, summarise, window_figures
from users.tests.factories import StaffFactory, UserFactory


class Clock:
    """A settable clock, far from real time so that no other test's keys share its minutes."""

    def __init__(self) -> None:
        self.now = 946_684_800.0 + random.randrange(10**6) * 3600  # some hour after 2000-01-01

    def __call__(self) -> float:
        return self.now


def redis_ttl(key: str) -> int:
    """Seconds until the cache key expires, asked of Redis itself."""
    backend: Any = cache
    return int(backend.primary.ttl(backend.make_and_validate_key(key)))


def exact_percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[max(round(fraction * len(ordered)) - 1, 0)]


@pytest.mark.parametrize(
    "latencies",
    [
        [float(ms) for ms in range(1, 1001)],  # uniform 1 ms .. 1 s
        [10.0] * 90 + [100.0] * 9 + [1000.0],  # a fast endpoint with a slow tail
        [2.0 + (i % 49) for i in range(5000)],  # 2-50 ms
    ],
)
def test_percentiles_from_known_latencies_are_within_one_bucket(latencies: list[float]) -> None:
    figures = Figures()
    for ms in latencies:
        figures.add(ms, error=False)
    for fraction in (0.50, 0.95, 0.99):
        exact = exact_percentile(latencies, fraction)
        estimate = figures.percentile(fraction)
        assert estimate is not None
        assert exact / GAMMA <= estimate <= exact * GAMMA, (fraction, exact, estimate)


def test_figures_add_up_like_one_histogram() -> None:
    first, second, together = Figures(), Figures(), Figures()
    for ms in range(1, 200):
        (first if ms % 2 else second).add(ms, error=ms > 190, queries=2, sql_ms=0.5)
        together.add(ms, error=ms > 190, queries=2, sql_ms=0.5)
    first.merge(second)
    assert first.to_list() == together.to_list()
    assert Figures().percentile(0.5) is None


def test_storage_is_one_key_per_process_per_minute_whatever_the_traffic() -> None:
    clock = Clock()
    store = PerformanceRecorder(clock=clock)
    minute = int(clock() // 60)
    for number in range(5000):
        store.record(f"GET route{number % 3}", 5.0, error=False)
    store.flush()
    store.flush()  # a second flush rewrites the same key
    keys = cache.get_many([writer_key(minute, slot) for slot in range(MAX_WRITERS)])
    assert len(keys) == 1
    [stored] = keys.values()
    assert sorted(stored) == ["GET route0", "GET route1", "GET route2"]
    assert sum(data[0] for data in stored.values()) == 5000
    # Every key expires.
    assert 0 < redis_ttl(next(iter(keys))) <= WRITER_TTL


def test_two_processes_write_two_keys_and_the_roll_up_merges_them() -> None:
    clock = Clock()
    web, worker = PerformanceRecorder(clock=clock), PerformanceRecorder(clock=clock)
    minute = int(clock() // 60)
    for _ in range(10):
        web.record("GET blog:home", 4.0, error=False, queries=2, sql_ms=1.0)
    worker.record("GET blog:home", 40.0, error=True, queries=3, sql_ms=2.0)
    web.flush()
    worker.flush()
    assert len(cache.get_many([writer_key(minute, slot) for slot in range(MAX_WRITERS)])) == 2
    assert cache.get(minute_key(minute)) is None

    clock.now += ROLLUP_DELAY_MINUTES * 60
    web.flush()
    merged = cache.get(minute_key(minute))
    assert merged["GET blog:home"][:5] == [11, 1, 80.0, 23, 12.0]
    assert 0 < redis_ttl(minute_key(minute)) <= MINUTE_TTL
    # The other process does not roll the same minute up again.
    cache.set(minute_key(minute), {"sentinel": [0, 0, 0.0, 0, 0.0, {}]})
    worker.flush()
    assert cache.get(minute_key(minute)) == {"sentinel": [0, 0, 0.0, 0, 0.0, {}]}


def test_an_hour_is_rolled_up_into_one_key_and_the_day_reads_it() -> None:
    clock = Clock()
    clock.now -= clock.now % 3600  # the start of an hour
    store = PerformanceRecorder(clock=clock)
    hour = int(clock() // 3600)
    store.flush()  # starts rolling up from here, as a process that has just started
    for minute in range(60):
        store.record("GET blog:post", 10.0 + minute, error=False)
        store.record("task blog.notify_author_of_comment", 50.0, error=minute == 0)
        clock.now += 60
        store.flush()
    clock.now += (HOUR_ROLLUP_MINUTE + ROLLUP_DELAY_MINUTES) * 60
    store.flush()
    stored = cache.get(hour_key(hour))
    assert stored["GET blog:post"][0] == 60
    assert stored["task blog.notify_author_of_comment"][:2] == [60, 1]

    snapshot, seconds = window_figures(store, WINDOWS["1d"])
    rows = {row.series: row for row in summarise(snapshot, seconds)}
    assert rows["GET blog:post"].count == 60
    assert rows["task blog.notify_author_of_comment"].error_pct == pytest.approx(100 / 60)
    # The last hour no longer holds them.
    snapshot, _ = window_figures(store, WINDOWS["5m"])
    assert snapshot == {}


def test_a_window_reports_rate_errors_queries_and_percentiles() -> None:
    clock = Clock()
    store = PerformanceRecorder(clock=clock)
    clock.now -= clock.now % 60
    for ms in range(1, 101):
        store.record("GET api:post-list", float(ms), error=ms > 95, queries=2, sql_ms=1.5)
    clock.now += 30
    store.flush()
    snapshot, seconds = window_figures(store, WINDOWS["5m"])
    [row] = summarise(snapshot, seconds)
    assert (row.kind, row.name, row.count) == ("GET", "api:post-list", 100)
    assert seconds == 4 * 60 + 30
    assert row.per_minute == pytest.approx(100 * 60 / 270)
    assert row.error_pct == pytest.approx(5.0)
    assert row.mean_queries == 2.0 and row.mean_sql_ms == pytest.approx(1.5)
    assert 50 / GAMMA <= row.p50_ms <= 50 * GAMMA  # type: ignore[operator]
    assert 99 / GAMMA <= row.p99_ms <= 99 * GAMMA  # type: ignore[operator]


def test_unknown_paths_share_one_series(client: Client, fresh_recorder: PerformanceRecorder) -> None:
    for number in range(50):
        client.get(f"/random-{number}/")
    fresh_recorder.flush()
    snapshot, _ = window_figures(fresh_recorder, WINDOWS["5m"])
    assert list(snapshot) == ["GET <unmatched>"]
    assert snapshot["GET <unmatched>"].count == 50


@pytest.fixture
def fresh_recorder(monkeypatch: pytest.MonkeyPatch) -> PerformanceRecorder:
    """A recorder of its own for the middleware and the page, on a clock no other test uses."""
    store = PerformanceRecorder(clock=Clock())
    monkeypatch.setattr("project.monitoring.performance.recorder", store)
    monkeypatch.setattr("project.monitoring.middleware.recorder", store)
    monkeypatch.setattr("project.monitoring.views.recorder", store)
    return store


@pytest.mark.django_db
def test_performance_page_shows_percentiles_per_route_and_a_chart(
    client: Client, django_assert_num_queries: DjangoAssertNumQueries, fresh_recorder: PerformanceRecorder
) -> None:
    client.force_login(StaffFactory.create())
    PostFactory.create()
    # 1: the user (the session is a cache read), 2: the posts, 3: their tags
    with django_assert_num_queries(3):
        client.get(reverse("blog:home"))
    client.get("/healthz")
    # 1: the staff user
    with django_assert_num_queries(1):
        response = client.get(reverse("admin-performance"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "blog:home" in page and "healthz" in page
    assert '<svg role="img" aria-label="latency percentiles per minute"' in page
    assert '<path class="p99" d="M' in page
    http_rows = dict(response.context["tables"])["Requests, by route and method"]
    home = next(row for row in http_rows if row.series == "GET blog:home")
    assert (home.count, home.error_pct, home.mean_queries) == (1, 0.0, 3.0)
    assert home.p50_ms is not None and home.p50_ms <= home.p95_ms <= home.p99_ms

    one_route = client.get(reverse("admin-performance"), {"window": "5m", "series": "GET healthz"})
    assert one_route.status_code == 200
    assert "Last hour, minute by minute: GET healthz" in one_route.content.decode()


@pytest.mark.django_db
def test_performance_page_refuses_an_unknown_window(client: Client) -> None:
    client.force_login(StaffFactory.create())
    response = client.get(reverse("admin-performance"), {"window": "1y"})
    assert response.status_code == 400
    assert b"window must be one of 5m, 1h, 1d" in response.content


@pytest.mark.django_db
def test_performance_page_is_for_staff_only_and_linked_from_the_admin_index(client: Client) -> None:
    assert client.get(reverse("admin-performance")).status_code == 302
    client.force_login(UserFactory.create())
    assert client.get(reverse("admin-performance")).status_code == 302
    client.force_login(StaffFactory.create())
    assert reverse("admin-performance").encode() in client.get(reverse("admin:index")).content
