"""Throttles: anonymous and user rates, a per-endpoint scope for writes, and a cache outage."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache, caches
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from api.tests.conftest import client_for
from blog.models import Post
from blog.tests.factories import PostFactory
from project.api_policies import AnonRateThrottle
from users.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture
def rates(settings: Any) -> Any:
    """Set throttle rates for one test; the throttles read them per request."""

    def set_rates(**scopes: str) -> None:
        rest: dict[str, Any] = dict(django_settings.REST_FRAMEWORK)
        rest["DEFAULT_THROTTLE_RATES"] = {**rest["DEFAULT_THROTTLE_RATES"], **scopes}
        settings.REST_FRAMEWORK = rest

    return set_rates


def test_anonymous_clients_get_429_past_their_rate_with_retry_after(rates: Any) -> None:
    rates(anon="3/min")
    client = client_for(None)
    assert [client.get("/api/v1/tags/").status_code for _ in range(4)] == [200, 200, 200, 429]
    response = client.get("/api/v1/tags/")
    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert 0 < int(response["Retry-After"]) <= 60


def test_each_user_has_their_own_rate(rates: Any, author: User, other: User) -> None:
    rates(user="2/min")
    first, second = client_for(author), client_for(other)
    assert [first.get("/api/v1/users/me/").status_code for _ in range(3)] == [200, 200, 429]
    assert second.get("/api/v1/users/me/").status_code == 200


def test_writes_have_a_scope_per_endpoint_and_reads_do_not_count(rates: Any, author: User) -> None:
    rates(posts="2/min")
    client = client_for(author)
    post = PostFactory.create()
    statuses = [
        client.post("/api/v1/posts/", {"title": f"t{n}", "body": "b"}, format="json").status_code for n in range(3)
    ]
    assert statuses == [201, 201, 429]
    assert Post.objects.filter(author=author).count() == 2
    assert client.get("/api/v1/posts/").status_code == 200  # reads are not writes
    comment = client.post("/api/v1/comments/", {"post": post.pk, "body": "hi"}, format="json")
    assert comment.status_code == 201  # another endpoint's scope


def test_when_the_throttle_cache_is_down_requests_are_served_and_logged(
    rates: Any, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # A real Redis client pointed at a port where no server listens: every call fails to connect.
    settings.CACHES = {
        **django_settings.CACHES,
        "down": {**django_settings.CACHES["default"], "LOCATION": "redis://127.0.0.1:9/0"},
    }
    settings.API_THROTTLE_CACHE = "down"
    rates(anon="1/min")
    client = client_for(None)
    with caplog.at_level(logging.WARNING):
        assert [client.get("/api/v1/tags/").status_code for _ in range(3)] == [200, 200, 200]
    # The site's Redis backend fails soft (project/cache/backends.py): the outage reads as an empty
    # throttle history, so requests pass, and it is logged once per retry window, not per request.
    outage = [m for m in caplog.messages if m.startswith("Redis cache unreachable")]
    assert len(outage) == 1


def test_concurrent_requests_never_pass_more_than_the_rate(rates: Any) -> None:
    # The count is one atomic Redis script: 20 simultaneous requests from one IP against 5/min let
    # exactly 5 through. (DRF's own get-then-set lets racing workers all read the same history.)
    rates(anon="5/min")
    request = Request(APIRequestFactory().get("/api/v1/tags/"))
    request.user = AnonymousUser()
    with ThreadPoolExecutor(max_workers=20) as pool:
        allowed = list(pool.map(lambda _: AnonRateThrottle().allow_request(request, None), range(20)))
    assert allowed.count(True) == 5
    throttle = AnonRateThrottle()
    assert throttle.allow_request(request, None) is False
    assert 59 < throttle.wait() <= 60  # type: ignore[operator]  # until the oldest of the five leaves the window


def test_the_script_is_sent_again_when_redis_has_forgotten_it(rates: Any) -> None:
    # The throttle sends the script by its hash; a restarted (or flushed) Redis knows no scripts.
    rates(anon="2/min")
    cache.primary.script_flush()  # type: ignore[attr-defined]
    client = client_for(None)
    assert [client.get("/api/v1/tags/").status_code for _ in range(3)] == [200, 200, 429]


def test_a_history_left_by_drfs_own_throttle_does_not_break_the_count(rates: Any) -> None:
    # After an upgrade, DRF's pickled history still sits under the plain key until it expires.
    rates(anon="2/min")
    cache.set("throttle_anon_127.0.0.1", [1.0, 2.0], 60)
    client = client_for(None)
    assert [client.get("/api/v1/tags/").status_code for _ in range(3)] == [200, 200, 429]
    assert cache.get("unrelated-key", "still served") == "still served"


def test_on_a_cache_other_than_redis_the_throttles_count_the_drf_way(rates: Any, settings: Any) -> None:
    # The embedded default (`make run`) keeps its cache in the database: DRF's algorithm runs there.
    settings.CACHES = {
        **django_settings.CACHES,
        "local": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "throttle-test"},
    }
    settings.API_THROTTLE_CACHE = "local"
    rates(anon="2/min")
    client = client_for(None)
    assert [client.get("/api/v1/tags/").status_code for _ in range(3)] == [200, 200, 429]
    assert caches["local"].get("throttle_anon_127.0.0.1") is not None


def test_password_guessing_at_the_token_endpoint_is_throttled(rates: Any, author: User) -> None:
    rates(token="2/min")
    client = client_for(None)
    guesses = [
        client.post("/api/v1/auth/token/", {"username": "author", "password": f"guess{n}"}, format="json")
        for n in range(3)
    ]
    assert [g.status_code for g in guesses] == [400, 400, 429]


def test_a_forged_x_forwarded_for_does_not_buy_a_new_allowance(rates: Any, settings: Any) -> None:
    # Behind one proxy (compose's nginx), only the entry the proxy wrote counts: the rightmost one.
    settings.TRUSTED_PROXY_COUNT = 1
    rates(anon="3/min")
    client = client_for(None)
    statuses = [
        client.get("/api/v1/tags/", HTTP_X_FORWARDED_FOR=f"10.9.9.{n}, 203.0.113.7").status_code for n in range(4)
    ]
    assert statuses == [200, 200, 200, 429]
    # Another client, as the proxy reports it, has its own allowance.
    assert client.get("/api/v1/tags/", HTTP_X_FORWARDED_FOR="198.51.100.1").status_code == 200
