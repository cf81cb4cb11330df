"""Log-in and sign-up limits per IP and per username, on every form that takes a password."""

from __future__ import annotations

from typing import Any

import pytest
import redis
from django.core.cache import caches
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from users.models import User
from users.tests.factories import PASSWORD, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _limits(settings: Any) -> None:
    settings.LOGIN_LIMIT_USERNAME_FAILURES = 3
    settings.LOGIN_LIMIT_IP_FAILURES = 5
    settings.SIGNUP_LIMIT_IP_ATTEMPTS = 3
    settings.SIGNUP_LIMIT_USERNAME_ATTEMPTS = 2
    settings.LOGIN_LIMIT_WINDOW_SECONDS = 600
    settings.TRUSTED_PROXY_COUNT = 1


def web_login(client: Client, username: str, password: str, forwarded: str = "203.0.113.1") -> Any:
    return client.post(
        reverse("users:login"), {"username": username, "password": password}, HTTP_X_FORWARDED_FOR=forwarded
    )


def test_the_web_log_in_locks_a_username_whatever_x_forwarded_for_says() -> None:
    UserFactory.create(username="victim")
    client = Client()
    # A new forged address each time: the username's count still adds up.
    statuses = [web_login(client, "victim", "wrong", f"6.6.6.6, 203.0.113.{n}").status_code for n in range(3)]
    assert statuses == [200, 200, 200]  # the form again, with its error
    locked = web_login(client, "victim", PASSWORD, "203.0.113.99")
    assert locked.status_code == 429
    assert "Too many failed log-in attempts. Try again in 10 minutes." in locked.content.decode()
    assert 590 <= int(locked["Retry-After"]) <= 600
    assert "_auth_user_id" not in client.session


def test_the_per_ip_limit_stops_guessing_many_usernames_from_one_address() -> None:
    client = Client()
    for n in range(5):
        assert web_login(client, f"nobody{n}", "wrong").status_code == 200
    assert web_login(client, "someone-else", "wrong").status_code == 429
    # Another client address (as nginx reports it) is not locked.
    UserFactory.create(username="ada")
    assert web_login(Client(), "ada", PASSWORD, "198.51.100.4").status_code == 302


def test_a_successful_log_in_clears_the_usernames_failures() -> None:
    UserFactory.create(username="ada")
    client = Client()
    for _ in range(2):
        web_login(client, "ada", "wrong")
    assert web_login(client, "ada", PASSWORD).status_code == 302
    for _ in range(2):
        assert web_login(Client(), "ada", "wrong").status_code == 200


def test_the_admin_log_in_is_limited_too() -> None:
    StaffFactory.create(username="boss")
    client = Client()
    url = reverse("admin:login")
    for _ in range(3):
        assert client.post(url, {"username": "boss", "password": "wrong"}).status_code == 200
    response = client.post(url, {"username": "boss", "password": PASSWORD})
    assert response.status_code == 429
    assert "Retry-After" in response


def test_the_api_token_endpoint_is_limited_with_the_api_error_shape() -> None:
    UserFactory.create(username="ada")
    client = APIClient()
    url = reverse("api:token")
    for n in range(3):
        response = client.post(
            url, {"username": "ada", "password": "wrong"}, format="json", HTTP_X_FORWARDED_FOR=f"6.6.6.{n}"
        )
        assert response.status_code == 400
    response = client.post(url, {"username": "ada", "password": PASSWORD}, format="json")
    assert response.status_code == 429
    assert response.json() == {
        "status": 429,
        "code": "throttled",
        "detail": "Too many failed log-in attempts. Try again in 10 minutes.",
    }
    assert int(response["Retry-After"]) > 0


def test_sign_up_is_limited_per_ip_and_per_username() -> None:
    client = Client()
    url = reverse("users:signup")

    def sign_up(username: str, forwarded: str = "203.0.113.1") -> int:
        data = {"username": username, "password1": PASSWORD, "password2": "mismatch"}
        return int(client.post(url, data, HTTP_X_FORWARDED_FOR=forwarded).status_code)

    assert [sign_up("a"), sign_up("b"), sign_up("c"), sign_up("d")] == [200, 200, 200, 429]
    # Per username, from many addresses.
    assert [sign_up("e", f"198.51.100.{n}") for n in range(3)] == [200, 200, 429]
    assert not User.objects.exists()


def test_with_the_cache_down_log_in_fails_closed_with_503(settings: Any) -> None:
    UserFactory.create(username="ada")
    # A Redis nobody listens on: the fail-soft backend reports the outage to the limiter.
    settings.CACHES = {
        **settings.CACHES,
        "limits": {
            "BACKEND": "project.cache.backends.FailSoftRedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        },
    }
    settings.LOGIN_LIMIT_CACHE = "limits"
    try:
        response = web_login(Client(), "ada", PASSWORD)
        assert response.status_code == 503
        assert "briefly unavailable" in response.content.decode()
        assert int(response["Retry-After"]) >= 1
    finally:
        caches["limits"].close()


def test_counts_live_in_redis_with_the_window_as_their_expiry(settings: Any) -> None:
    web_login(Client(), "ghost", "wrong")
    client = redis.Redis.from_url(settings.REDIS_URL)
    keys = client.keys("*loginlimit*")
    assert len(keys) == 2  # the IP's and the username's
    assert all(0 < client.ttl(key) <= 600 for key in keys)
