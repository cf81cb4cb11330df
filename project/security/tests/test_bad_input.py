"""Tampered input is a 4xx in the API's error shape (or the site's 400/404 page), never a 500.

One test per class the issue found: a cursor whose position does not parse, JSON nested past the
stack, a NUL byte in a path or query parameter (PostgreSQL cannot compare it), an absurd admin
page number.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from django.test import Client
from rest_framework.test import APIClient

from blog.tests.factories import CommentFactory, PostFactory, TagFactory
from users.tests.factories import StaffFactory, UserFactory

pytestmark = pytest.mark.django_db


def cursor(**parts: str) -> str:
    return base64.b64encode(urlencode(parts).encode()).decode()


def assert_api_error(response: Any, status: int) -> None:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["status"] == status and body["code"] and body["detail"]


@pytest.mark.parametrize(
    ("url", "position"),
    [
        ("/api/v1/posts/", "abc"),  # ordered by id: not an integer
        ("/api/v1/posts/", "99999999999999999999999"),  # past a bigint
        ("/api/v1/posts/", "1\x00"),
        ("/api/v1/comments/?post={post}", "not-a-date"),  # ordered by created_at
        ("/api/v1/tags/", "a\x00b"),  # ordered by name: text, but no NUL
    ],
)
def test_a_cursor_whose_position_does_not_parse_is_a_400(url: str, position: str) -> None:
    post = PostFactory.create()
    CommentFactory.create(post=post)
    TagFactory.create(name="indexes")
    separator = "&" if "?" in url else "?"
    target = url.format(post=post.pk) + separator + "cursor=" + quote(cursor(p=position))
    response = APIClient().get(target)
    assert_api_error(response, 400)
    assert "cursor" in response.json()["fields"]


def test_a_valid_cursor_still_pages() -> None:
    PostFactory.create_batch(3)
    first = APIClient().get("/api/v1/posts/?page_size=2").json()
    assert APIClient().get(first["next"]).status_code == 200


def test_json_nested_past_the_stack_is_a_400() -> None:
    user = UserFactory.create()
    client = APIClient()
    client.force_authenticate(user)
    body = "[" * 100_000 + "]" * 100_000  # 200 kB: under the size cap
    response = client.post("/api/v1/posts/", body, content_type="application/json")
    assert_api_error(response, 400)
    assert response.json()["detail"] == "The body is nested too deeply."


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/posts/a%00b/",
        "/api/v1/tags/a%00b/",
        "/api/v1/posts/?tag=a%00b",
        "/api/v1/comments/?post=1%00",
    ],
)
def test_a_nul_byte_in_an_api_url_is_a_400_in_the_api_shape(url: str) -> None:
    assert_api_error(APIClient().get(url), 400)


@pytest.mark.parametrize("url", ["/authors/a%00b/", "/?page=1%00", "/posts/x/?q=%00"])
def test_a_nul_byte_in_a_site_url_is_a_400_page(url: str) -> None:
    response = Client().get(url)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("page", ["99999999999999999999", str(2**62), "-5", "1e9", "abc"])
def test_an_absurd_admin_page_number_is_not_a_500(page: str) -> None:
    PostFactory.create_batch(2)
    client = Client()
    client.force_login(StaffFactory.create())
    response = client.get("/admin/blog/post/", {"p": page})
    # Django's admin answers a page it cannot show with a redirect to ?e=1 (or the first page).
    assert response.status_code in {200, 302}


@pytest.mark.parametrize("page", ["99999999999999999999", "-1", "abc"])
def test_an_absurd_site_page_number_is_not_a_500(page: str) -> None:
    PostFactory.create_batch(2)
    assert Client().get("/", {"page": page}).status_code in {200, 404}
