"""Fixtures for the API tests: users of each role, authenticated clients, and a clean throttle."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from users.models import User
from users.tests.factories import UserFactory


@pytest.fixture(autouse=True)
def _fresh_throttle_counts() -> Iterator[None]:
    # Throttle history lives in the cache, which outlives each test's database transaction.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api() -> APIClient:
    """An anonymous client that, like a browser, must send a CSRF token with a session."""
    return APIClient(enforce_csrf_checks=True)


@pytest.fixture
def author() -> User:
    return UserFactory.create(username="author")


@pytest.fixture
def other() -> User:
    return UserFactory.create(username="other")


@pytest.fixture
def staff() -> User:
    return UserFactory.create(username="staff", is_staff=True)


def client_for(user: User | None) -> APIClient:
    """A client authenticated as ``user`` by token (no CSRF involved), or anonymous for ``None``."""
    client = APIClient()
    if user is not None:
        from rest_framework.authtoken.models import Token

        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client
