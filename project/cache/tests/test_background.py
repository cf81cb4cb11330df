"""The background-filled cache, on the real Redis cache, the real Redis broker and a real worker thread."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import uuid
import zoneinfo
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from typing import Any

import pytest
import redis
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.test import override_settings

from project.cache.background import (
    BackgroundCachedFunction,
    background_cached,
    decode_arguments,
    encode_arguments,
    event_counts,
    lookup,
)
from project.cache.tasks import refresh_background_cache
from project.celery import app
from tests.support import wait_for

CLOSED_PORT_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1: connections are refused

# What the cached functions below were called with, and whether the next call should fail.
calls: Counter[str] = Counter()
received: list[tuple[Any, ...]] = []
failing = threading.Event()
calls_lock = threading.Lock()


def _count(name: str) -> int:
    with calls_lock:
        calls[name] += 1
        return calls[name]


@background_cached(refresh_after=0.3)
def numbered(label: str) -> str:
    """Return ``label`` and how many times it was computed, so a test can tell old from new."""
    if failing.is_set():
        raise RuntimeError("the database is on fire")
    return f"{label}#{_count(label)}"


@background_cached(refresh_after=0.3, on_miss="default", default="not yet")
def numbered_or_default(label: str) -> str:
    return f"{label}#{_count('default:' + label)}"


@background_cached(refresh_after=0.3)
def typed(ident: uuid.UUID, day: dt.date, moment: dt.datetime, pair: Sequence[int]) -> str:
    """Record the types the function receives (in the request or in the worker)."""
    received.append((ident, day, moment, pair))
    return f"{ident}/{day}/{moment.isoformat()}/{pair}#{_count('typed')}"


@pytest.fixture(autouse=True)
def _reset() -> Iterator[None]:
    calls.clear()
    received.clear()
    failing.clear()
    yield
    failing.clear()


@pytest.fixture
def broker_queue() -> Iterator[Callable[[], int]]:
    """An empty default queue on the test broker, and a way to count the messages waiting in it."""
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.delete("celery")
    yield lambda: int(client.llen("celery"))
    client.delete("celery")
    client.close()


@pytest.fixture
def celery_worker(broker_queue: Callable[[], int]) -> Iterator[None]:
    """A real worker thread consuming from the test broker (Redis), not eager mode."""
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        yield


def go_stale(function: BackgroundCachedFunction[Any, Any]) -> None:
    time.sleep(function.refresh_after + 0.05)


def counts_since(before: dict[str, int], function: BackgroundCachedFunction[Any, Any]) -> dict[str, int]:
    after = event_counts(function)
    return {event: after[event] - before[event] for event in after if after[event] != before[event]}


# --- Arguments -------------------------------------------------------------------------------


class Opaque:
    pass


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        (Opaque(), "test_background.Opaque, which is not JSON-safe"),
        ({1, 2}, "builtins.set, which is not JSON-safe"),
        (b"bytes", "builtins.bytes, which is not JSON-safe"),
        (Decimal("1.5"), "decimal.Decimal, which is not JSON-safe"),
        (float("nan"), "must be finite numbers"),
        (dt.datetime(2024, 1, 1, 12, 0), "naive datetime"),  # noqa: DTZ001 (the naive value under test)
        ({1: "a"}, "int key"),
        ({"$uuid": "x"}, "reserved"),
        ([1, [2, object()]], "argument 'label'[1][1] is a builtins.object"),
    ],
)
def test_arguments_that_are_not_json_safe_are_refused_with_a_type_error(argument: Any, message: str) -> None:
    with pytest.raises(TypeError, match=r"project\.cache\.tests\.test_background:numbered argument") as error:
        numbered(label=argument)
    assert message in str(error.value)
    assert calls == Counter()


def test_a_model_instance_is_refused_and_its_pk_is_suggested() -> None:
    from users.models import User

    with pytest.raises(TypeError, match=r"users\.models\.User, which is not JSON-safe.*its pk"):
        numbered(User(pk=1, username="ada"))  # type: ignore[arg-type]  # what the test is about


def test_functions_the_worker_could_not_import_are_refused() -> None:
    def nested() -> int:
        return 1

    with pytest.raises(TypeError, match="module's top level"):
        background_cached(refresh_after=1)(nested)


def test_uuid_date_and_datetime_arguments_round_trip_with_their_types() -> None:
    ident = uuid.UUID("12345678-1234-5678-1234-567812345678")
    paris = dt.datetime(2024, 5, 1, 14, 30, tzinfo=zoneinfo.ZoneInfo("Europe/Paris"))
    encoded = encode_arguments((ident, dt.date(2024, 5, 1), paris, (1, 2)), {})
    args, kwargs = decode_arguments(encoded)
    assert args == [ident, dt.date(2024, 5, 1), paris, [1, 2]]
    assert type(args[0]) is uuid.UUID and type(args[1]) is dt.date and args[2].utcoffset() == dt.timedelta(0)
    # Encoding what the worker decodes gives the very same string, hence the same key.
    assert encode_arguments(tuple(args), kwargs) == encoded
    # The same instant in another zone, and a tuple or a list, are the same call.
    utc = paris.astimezone(dt.UTC)
    assert typed.key(ident, dt.date(2024, 5, 1), paris, [1, 2]) == typed.key(ident, dt.date(2024, 5, 1), utc, (1, 2))
    assert typed.key(ident, dt.date(2024, 5, 1), paris, [1, 2]) != typed.key(ident, dt.date(2024, 5, 2), paris, [1, 2])


def test_the_function_receives_the_decoded_arguments_in_the_request_too() -> None:
    ident = uuid.uuid4()
    moment = dt.datetime(2024, 5, 1, 12, tzinfo=dt.UTC)
    typed(ident, dt.date(2024, 5, 1), moment, (3, 4))
    assert received == [(ident, dt.date(2024, 5, 1), moment, [3, 4])]  # the tuple is a list, as in the worker


def test_keyword_and_positional_arguments_are_different_calls_but_keyword_order_is_not() -> None:
    assert numbered.key("a") != numbered.key(label="a")
    assert encode_arguments((), {"a": 1, "b": 2}) == encode_arguments((), {"b": 2, "a": 1})


# --- Reads -----------------------------------------------------------------------------------


def test_a_miss_computes_in_the_request_then_a_fresh_value_is_served_without_computing(
    broker_queue: Callable[[], int],
) -> None:
    before = event_counts(numbered)
    first = numbered.get("a")
    second = numbered.get("a")
    assert (first.value, first.state, first.refresh_enqueued) == ("a#1", "miss", False)
    assert (second.value, second.state) == ("a#1", "fresh")
    assert second.computed_at == first.computed_at and first.computed_at is not None
    assert abs((dt.datetime.now(dt.UTC) - first.computed_at).total_seconds()) < 5
    assert calls == Counter({"a": 1})
    assert counts_since(before, numbered) == {"miss": 1, "hit": 1}
    assert broker_queue() == 0


def test_a_miss_with_on_miss_default_returns_the_default_and_enqueues_one_refresh(
    broker_queue: Callable[[], int],
) -> None:
    results = [numbered_or_default.get("a") for _ in range(3)]
    assert [(r.value, r.state, r.computed_at) for r in results] == [("not yet", "miss", None)] * 3
    assert [r.refresh_enqueued for r in results] == [True, False, False]
    assert broker_queue() == 1
    assert calls == Counter()


def test_stale_value_is_served_while_exactly_one_refresh_is_enqueued_across_concurrent_requests(
    broker_queue: Callable[[], int],
) -> None:
    numbered.get("hot")
    go_stale(numbered)
    before = event_counts(numbered)
    threads = 24
    barrier = threading.Barrier(threads)
    results = []

    def read() -> None:
        barrier.wait()
        results.append(numbered.get("hot"))

    workers = [threading.Thread(target=read) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert {(r.value, r.state) for r in results} == {("hot#1", "stale")}
    assert sum(r.refresh_enqueued for r in results) == 1
    assert broker_queue() == 1
    assert counts_since(before, numbered) == {"stale": threads, "refresh_enqueued": 1}
    assert calls == Counter({"hot": 1})  # nobody computed in the request


def test_the_worker_refreshes_the_same_key_the_request_read(celery_worker: None) -> None:
    ident, day = uuid.uuid4(), dt.date(2024, 2, 29)
    moment = dt.datetime(2024, 2, 29, 23, 59, tzinfo=zoneinfo.ZoneInfo("America/New_York"))
    first = typed.get(ident, day, moment, (1, 2))
    go_stale(typed)
    stale = typed.get(ident, day, moment, (1, 2))
    assert (stale.value, stale.state, stale.refresh_enqueued) == (first.value, "stale", True)
    refreshed = wait_for(lambda: (r := typed.get(ident, day, moment, (1, 2))).state == "fresh" and r)
    assert refreshed.value.endswith("#2") and refreshed.value.split("#")[0] == first.value.split("#")[0]
    assert refreshed.computed_at > first.computed_at
    assert calls == Counter({"typed": 2})
    # The worker got real UUID, date and datetime objects, exactly as the request did.
    assert received[1] == received[0] == (ident, day, moment.astimezone(dt.UTC), [1, 2])
    assert all(
        type(value) is type(expected) for value, expected in zip(received[1], (ident, day, moment, []), strict=True)
    )


def test_a_stale_key_gets_one_refresh_per_stale_window(celery_worker: None) -> None:
    numbered.get("w")
    for window in range(2, 5):
        go_stale(numbered)
        assert numbered.get("w").refresh_enqueued
        expected = f"w#{window}"
        wait_for(lambda: numbered.get("w").value == expected)  # noqa: B023  # called before the loop moves on
    assert calls == Counter({"w": 4})


def test_a_refresh_that_finished_between_read_and_lock_is_not_enqueued_again(
    broker_queue: Callable[[], int],
) -> None:
    numbered.get("race")
    go_stale(numbered)
    key = numbered.key("race")
    # The race sits between two of the cache's own steps, so the test calls them one by one.
    seen = numbered._read(numbered.cache, key)  # noqa: SLF001  the project's own step, not Django's
    assert seen is not None
    # The worker's refresh lands (new value written, lock released) just after our read ...
    numbered.refresh(encode_arguments(("race",), {}, function=numbered.name))
    # ... so taking the lock now must not enqueue a second refresh for the window it served.
    enqueued = numbered._enqueue_once(numbered.cache, key, encode_arguments(("race",), {}), seen=seen[0])  # noqa: SLF001
    assert enqueued is False
    assert broker_queue() == 0
    assert numbered.get("race").value == "race#2"


class Records(logging.Handler):
    """Keep log records, attached to one logger (the worker replaces the root logger's handlers)."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_a_failed_refresh_keeps_the_old_value_and_logs(celery_worker: None) -> None:
    numbered.get("f")
    go_stale(numbered)
    before = event_counts(numbered)
    failing.set()
    records = Records()
    logging.getLogger("project.cache.background").addHandler(records)
    try:
        assert numbered.get("f").refresh_enqueued
        wait_for(lambda: counts_since(before, numbered).get("refresh_failed") == 1)
    finally:
        logging.getLogger("project.cache.background").removeHandler(records)
    (record,) = records.records
    assert record.levelno == logging.ERROR
    assert record.getMessage().startswith("Refreshing project.cache.tests.test_background:numbered (key bgcache:1:")
    assert record.exc_info and str(record.exc_info[1]) == "the database is on fire"
    again = numbered.get("f")
    assert (again.value, again.state, again.refresh_enqueued) == ("f#1", "stale", False)  # the lock holds
    assert counts_since(before, numbered) == {"stale": 2, "refresh_enqueued": 1, "refresh_failed": 1}


def test_broker_down_serves_the_stale_value_logs_and_backs_off(caplog: pytest.LogCaptureFixture) -> None:
    numbered.get("b")
    go_stale(numbered)
    before = event_counts(numbered)
    with (
        override_settings(CELERY_BROKER_URL=CLOSED_PORT_URL),
        caplog.at_level(logging.ERROR, logger="project.cache.background"),
    ):
        started = time.monotonic()
        first = numbered.get("b")
        elapsed = time.monotonic() - started
        second = numbered.get("b")
    assert (first.value, first.state, first.refresh_enqueued) == ("b#1", "stale", False)
    assert (second.value, second.refresh_enqueued) == ("b#1", False)
    assert elapsed < 2, "a dead broker must not hold the request"
    assert "Could not enqueue a refresh of project.cache.tests.test_background:numbered" in caplog.text
    # One attempt per key per BACKGROUND_CACHE_BROKER_RETRY_SECONDS, not one per request.
    assert counts_since(before, numbered) == {"stale": 2, "enqueue_failed": 1}


def test_redis_down_degrades_to_computing_in_the_request() -> None:
    caches_down = {"default": {**settings.CACHES["default"], "LOCATION": CLOSED_PORT_URL}}
    with override_settings(CACHES=caches_down):
        first, second = numbered.get("r"), numbered.get("r")
        assert numbered_or_default.get("r").value == "not yet"
    assert [(r.value, r.state) for r in (first, second)] == [("r#1", "miss"), ("r#2", "miss")]


# --- Writes that must show at once ---------------------------------------------------------


def test_refresh_now_and_invalidate_show_a_change_on_the_next_read() -> None:
    numbered.get("x")
    assert numbered.refresh_now("x").value == "x#2"
    assert numbered.get("x").value == "x#2"
    numbered.invalidate("x")
    assert (numbered.get("x").value, calls["x"]) == ("x#3", 3)


def test_enqueue_refresh_asks_the_worker_even_for_a_fresh_value(celery_worker: None) -> None:
    numbered.get("e")
    assert numbered.enqueue_refresh("e") is True
    wait_for(lambda: numbered.get("e").value == "e#2")


# --- The task ------------------------------------------------------------------------------


def test_the_task_refuses_names_that_are_not_background_cached_functions(caplog: pytest.LogCaptureFixture) -> None:
    for name in [
        "os:system",
        "project.cache.tests.test_background:Opaque",
        "no colon",
        "bad-module:x",
        "nowhere.at.all:x",
    ]:
        with pytest.raises((LookupError, ImportError)):
            lookup(name)
        assert refresh_background_cache(name, "{}") is False
    assert "Cannot refresh unknown background-cached function 'os:system'" in caplog.text
