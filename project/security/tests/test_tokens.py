"""API tokens expire, and are revoked on a password change and on log-out through the API."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from users.tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def token_client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_an_expired_token_is_refused_and_the_endpoint_hands_out_a_new_one(settings: Any) -> None:
    settings.API_TOKEN_MAX_AGE_SECONDS = 3600
    user = UserFactory.create(username="ada")
    old = Token.objects.create(user=user)
    Token.objects.filter(pk=old.pk).update(created=timezone.now() - timedelta(seconds=3601))
    response = token_client(old.key).get("/api/v1/users/me/")
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]
    new = APIClient().post("/api/v1/auth/token/", {"username": "ada", "password": PASSWORD}, format="json")
    assert new.status_code == 200
    assert new.json()["token"] != old.key
    assert token_client(new.json()["token"]).get("/api/v1/users/me/").status_code == 200


def test_a_fresh_token_is_returned_unchanged(settings: Any) -> None:
    user = UserFactory.create(username="ada")
    token = Token.objects.create(user=user)
    response = APIClient().post("/api/v1/auth/token/", {"username": "ada", "password": PASSWORD}, format="json")
    assert response.json() == {"token": token.key}


def test_changing_the_password_revokes_the_token() -> None:
    user = UserFactory.create(username="ada")
    token = Token.objects.create(user=user)
    user.set_password("another-long-password")
    user.save()
    assert not Token.objects.filter(pk=token.pk).exists()
    assert token_client(token.key).get("/api/v1/users/me/").status_code == 401


def test_saving_without_a_password_change_keeps_the_token() -> None:
    user = UserFactory.create(username="ada")
    token = Token.objects.create(user=user)
    user.bio = "Hello"
    user.save()
    user.save(update_fields=["last_login"])
    assert Token.objects.filter(pk=token.pk).exists()


def test_log_out_through_the_api_revokes_the_token() -> None:
    user = UserFactory.create(username="ada")
    token = Token.objects.create(user=user)
    client = token_client(token.key)
    assert client.post("/api/v1/auth/logout/").status_code == 204
    assert client.get("/api/v1/users/me/").status_code == 401
    assert APIClient().post("/api/v1/auth/logout/").status_code == 401
