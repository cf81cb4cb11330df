"""FailSoftRedisCache: the real Redis works as usual; an unreachable one reads as misses, never errors."""

from __future__ import annotations

import logging

import pytest
from django.conf import settings
from django.test import Client, override_settings
from pytest_django import DjangoAssertNumQueries
from redis.exceptions import ConnectionError as RedisConnectionError

from project.cache.backends import FailSoftRedisCache
from users.tests.factories import UserFactory

CLOSED_PORT_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1: connections are refused


def backend(location: str, retry_after: float = 60) -> FailSoftRedisCache:
    options = {"socket_connect_timeout": 0.5, "socket_timeout": 0.5, "RETRY_AFTER": retry_after}
    return FailSoftRedisCache(location, {"TIMEOUT": None, "OPTIONS": options, "KEY_PREFIX": "backend-test"})


def test_a_reachable_redis_behaves_like_djangos_redis_cache() -> None:
    cache = backend(settings.REDIS_URL)
    assert cache.add("k", 1, timeout=30) is True
    assert cache.add("k", 2, timeout=30) is False  # SET NX: the refresh lock relies on it
    cache.set_many({"a": (1.5, "x"), "b": [1]})
    assert cache.get_many(["k", "a", "b", "missing"]) == {"k": 1, "a": (1.5, "x"), "b": [1]}
    assert cache.touch("k", 60) is True and cache.has_key("k")
    assert cache.delete("k") is True and cache.get("k", "gone") == "gone"


def test_an_unreachable_redis_reads_as_misses_and_drops_writes(caplog: pytest.LogCaptureFixture) -> None:
    cache = backend(CLOSED_PORT_URL)
    with caplog.at_level(logging.WARNING, logger="project.cache.backends"):
        assert cache.get("k", "default") == "default"
        assert cache.add("k", 1) is False  # no lock taken, so nothing is enqueued
        cache.set("k", 1)
        assert cache.set_many({"a": 1}) == ["a"]
        assert cache.get_many(["a"]) == {}
        assert cache.has_key("a") is False
        assert cache.touch("a") is False
        assert cache.delete("a") is False
        cache.delete_many(["a"])
    # The first failure opens the breaker: the other calls did not even try (one warning).
    assert [r.getMessage() for r in caplog.records] == [
        "Redis cache unreachable (Error 111 connecting to 127.0.0.1:1. Connection refused.); serving misses for 60 s."
    ]


def test_after_retry_after_the_backend_tries_redis_again(caplog: pytest.LogCaptureFixture) -> None:
    cache = backend(CLOSED_PORT_URL, retry_after=0)
    with caplog.at_level(logging.WARNING, logger="project.cache.backends"):
        cache.get("k")
        cache.get("k")
    assert len(caplog.records) == 2


def test_counters_still_raise_rather_than_silently_losing_counts() -> None:
    with pytest.raises(RedisConnectionError):
        backend(CLOSED_PORT_URL).incr("k")


@pytest.mark.django_db
def test_sessions_are_read_from_the_cache_and_from_the_database_when_redis_is_down(
    client: Client, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    assert settings.SESSION_ENGINE == "django.contrib.sessions.backends.cached_db"
    user = UserFactory.create()
    client.force_login(user)
    with django_assert_num_queries(1):  # the user; the session is a cache read
        assert client.get("/api/v1/users/me/").json()["username"] == user.username
    down = {**settings.CACHES["default"], "LOCATION": CLOSED_PORT_URL}
    with override_settings(CACHES={"default": down}), django_assert_num_queries(2):  # the session, the user
        response = client.get("/api/v1/users/me/")
    assert response.json()["username"] == user.username  # still logged in: the database has the session
