"""One JSON error shape for every status, and bad input of any kind answered with 4xx, never 500."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client, override_settings
from rest_framework.test import APIClient

from api.tests.conftest import client_for
from blog.models import Post
from blog.tests.factories import PostFactory
from users.models import User

pytestmark = pytest.mark.django_db


def assert_error(response: object, status: int, code: str) -> dict:
    assert response.status_code == status, response.content  # type: ignore[attr-defined]
    assert response["Content-Type"] == "application/json"  # type: ignore[index]
    body = response.json()  # type: ignore[attr-defined]
    assert set(body) <= {"status", "code", "detail", "fields"}
    assert (body["status"], body["code"]) == (status, code)
    assert isinstance(body["detail"], str) and body["detail"]
    return body


def test_validation_errors_name_each_field(author: User) -> None:
    response = client_for(author).post("/api/v1/posts/", {"title": "", "status": "live"}, format="json")
    body = assert_error(response, 400, "invalid")
    assert body["fields"] == {
        "title": ["This field may not be blank."],
        "status": ['"live" is not a valid choice.'],
        "body": ["This field is required."],
    }


@pytest.mark.parametrize(
    "payload",
    [
        {"title": ["a list"], "body": "x"},
        {"title": {"an": "object"}, "body": "x"},
        {"title": "ok", "body": "x", "tag_slugs": "not-a-list"},
        {"title": "ok", "body": "x", "tag_slugs": [1, None]},
        {"title": "ok", "body": "x", "status": 7},
    ],
)
def test_wrong_types_are_400(author: User, payload: dict) -> None:
    response = client_for(author).post("/api/v1/posts/", payload, format="json")
    assert_error(response, 400, "invalid")
    assert not Post.objects.exists()


@pytest.mark.parametrize("raw", [b"{", b'{"title": NaN}', b"\xff\xfe", b"[1, 2", b"null"])
def test_malformed_json_is_400(author: User, raw: Any) -> None:
    response = client_for(author).generic("POST", "/api/v1/posts/", raw, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] in {"parse_error", "invalid"}


def test_a_non_json_body_is_415(author: User) -> None:
    response = client_for(author).post("/api/v1/posts/", {"title": "x", "body": "y"}, format="multipart")
    assert_error(response, 415, "unsupported_media_type")


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_an_oversized_json_body_is_413_and_nothing_is_stored(author: User) -> None:
    response = client_for(author).post("/api/v1/posts/", {"title": "big", "body": "x" * 2000}, format="json")
    assert_error(response, 413, "too_large")
    assert not Post.objects.exists()


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_a_body_just_under_the_limit_is_accepted(author: User) -> None:
    response = client_for(author).post("/api/v1/posts/", {"title": "ok", "body": "x" * 900}, format="json")
    assert response.status_code == 201


def test_unknown_query_parameters_are_400_naming_them(client: Client) -> None:
    body = assert_error(client.get("/api/v1/posts/", {"tga": "django", "page": "2"}), 400, "invalid")
    assert body["fields"] == {"page": ["Unknown query parameter."], "tga": ["Unknown query parameter."]}
    post = PostFactory.create()
    assert_error(client.get(f"/api/v1/posts/{post.slug}/", {"cursor": "x"}), 400, "invalid")


@pytest.mark.parametrize(
    "params",
    [
        {"published_after": "yesterday"},
        {"published_after": "2020-01-01T00:00:00+18:23"},  # an offset PostgreSQL refuses, sent as UTC
        {"status": "archived"},
        {"search": "x" * 101},
    ],
)
def test_bad_filter_values_are_4xx(client: Client, params: dict) -> None:
    response = client.get("/api/v1/posts/", params)
    assert response.status_code in {200, 400}
    if response.status_code == 400:
        assert_error(response, 400, "invalid")


@pytest.mark.parametrize("post", ["abc", "0", "-1", "99999999999999999999", "1.5"])
def test_bad_post_ids_in_the_comment_filter_are_4xx(client: Client, post: str) -> None:
    response = client.get("/api/v1/comments/", {"post": post})
    assert response.status_code in {200, 400}


def test_not_found_has_the_error_shape_even_outside_any_route(client: Client) -> None:
    assert_error(client.get("/api/v1/posts/no-such-post/"), 404, "not_found")
    assert_error(client.get("/api/v1/comments/not-a-number/"), 404, "not_found")
    assert_error(client.get("/api/v1/nothing-here/"), 404, "not_found")
    assert b"<html" in client.get("/no-such-page/").content.lower()  # the web site keeps its page


def test_method_not_allowed_is_405(author: User) -> None:
    assert_error(client_for(author).put("/api/v1/posts/", {}, format="json"), 405, "method_not_allowed")


def test_unauthenticated_is_401_and_forbidden_is_403(author: User, other: User) -> None:
    post = PostFactory.create(author=author)
    response = APIClient().delete(f"/api/v1/posts/{post.slug}/")
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == "Token"
    assert_error(client_for(other).delete(f"/api/v1/posts/{post.slug}/"), 403, "permission_denied")
    assert_error(APIClient(HTTP_AUTHORIZATION="Token nope").get("/api/v1/posts/"), 401, "authentication_failed")
