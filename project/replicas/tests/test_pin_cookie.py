"""The primary pin cookie follows a successful unsafe request only."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from blog.tests.factories import PostFactory
from users.tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def test_a_refused_unsafe_request_sets_no_pin_cookie() -> None:
    post = PostFactory.create()
    client = Client(enforce_csrf_checks=True)
    # 403: no CSRF token. 401: the API refuses an anonymous write.
    assert client.post(reverse("blog:comment-create", args=[post.slug]), {"body": "x"}).status_code == 403
    assert client.post("/api/v1/posts/", {}, content_type="application/json").status_code == 401
    for response in (
        client.post(reverse("blog:comment-create", args=[post.slug]), {"body": "x"}),
        client.post("/api/v1/posts/", {}, content_type="application/json"),
    ):
        assert "primary_pin" not in response.cookies


def test_a_successful_log_in_sets_the_pin_cookie() -> None:
    UserFactory.create(username="ada")
    response = Client().post(reverse("users:login"), {"username": "ada", "password": PASSWORD})
    assert response.status_code == 302
    assert response.cookies["primary_pin"]["httponly"] is True
