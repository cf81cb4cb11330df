"""The comments, tags and users endpoints: content, visibility, writes and exact query counts."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from api.tests.conftest import client_for
from blog.models import Comment, Tag
from blog.tests.factories import CommentFactory, PostFactory, TagFactory
from users.models import User

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("count", [1, 15])
def test_comment_list_runs_one_query_whatever_the_page_size(
    client: Client, django_assert_num_queries: Any, count: int
) -> None:
    post = PostFactory.create()
    comments = [CommentFactory.create(post=post) for _ in range(count)]
    CommentFactory.create()  # on another post
    # 1: a page of the post's comments with their authors, the post's visibility as a subquery
    with django_assert_num_queries(1):
        response = client.get("/api/v1/comments/", {"post": post.pk})
    results = response.json()["results"]
    assert [c["id"] for c in results] == [c.pk for c in comments]  # oldest first
    assert results[0]["author"] == comments[0].author.username


def test_comment_detail_runs_one_query(client: Client, django_assert_num_queries: Any) -> None:
    comment = CommentFactory.create(body="Hello")
    # 1: the comment with its author, the post's visibility as a subquery
    with django_assert_num_queries(1):
        response = client.get(f"/api/v1/comments/{comment.pk}/")
    assert response.json()["body"] == "Hello"


def test_listing_comments_needs_a_post(client: Client) -> None:
    response = client.get("/api/v1/comments/")
    assert response.status_code == 400
    assert response.json()["fields"] == {"post": ["This query parameter is required."]}


def test_comments_on_someone_elses_draft_are_hidden(client: Client, author: User) -> None:
    draft = PostFactory.create(author=author, draft=True)
    comment = CommentFactory.create(post=draft)
    assert client.get("/api/v1/comments/", {"post": draft.pk}).json()["results"] == []
    assert client.get(f"/api/v1/comments/{comment.pk}/").status_code == 404
    assert client_for(author).get(f"/api/v1/comments/{comment.pk}/").status_code == 200


def test_commenting_makes_the_requester_the_author_and_the_post_fixed(author: User, other: User) -> None:
    post, elsewhere = PostFactory.create(), PostFactory.create()
    client = client_for(author)
    response = client.post(
        "/api/v1/comments/", {"post": post.pk, "body": " Hi ", "author": other.username}, format="json"
    )
    assert response.status_code == 201, response.json()
    comment = Comment.objects.get(pk=response.json()["id"])
    assert (comment.author, comment.post, comment.body) == (author, post, "Hi")
    client.patch(f"/api/v1/comments/{comment.pk}/", {"post": elsewhere.pk, "body": "Edited"}, format="json")
    comment.refresh_from_db()
    assert (comment.post, comment.body) == (post, "Edited")


def test_commenting_on_your_own_draft_is_a_409_conflict(author: User) -> None:
    draft = PostFactory.create(author=author, draft=True)
    response = client_for(author).post("/api/v1/comments/", {"post": draft.pk, "body": "Hi"}, format="json")
    assert response.status_code == 409
    assert response.json() == {
        "status": 409,
        "code": "conflict",
        "detail": "Comments are open on published posts only.",
    }
    assert not Comment.objects.exists()


def test_commenting_on_someone_elses_draft_says_the_post_does_not_exist(author: User, other: User) -> None:
    draft = PostFactory.create(author=other, draft=True)
    response = client_for(author).post("/api/v1/comments/", {"post": draft.pk, "body": "Hi"}, format="json")
    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["post"]


def test_tag_list_runs_one_query_in_name_order(client: Client, django_assert_num_queries: Any) -> None:
    TagFactory.create(name="sql")
    TagFactory.create(name="django")
    # 1: a page of tags
    with django_assert_num_queries(1):
        response = client.get("/api/v1/tags/")
    assert [t["name"] for t in response.json()["results"]] == ["django", "sql"]


def test_tag_detail_runs_one_query(client: Client, django_assert_num_queries: Any) -> None:
    TagFactory.create(name="django")
    # 1: the tag
    with django_assert_num_queries(1):
        response = client.get("/api/v1/tags/django/")
    assert response.json() == {"id": Tag.objects.get().pk, "name": "django", "slug": "django"}


def test_staff_create_tags_with_a_derived_slug_and_renaming_keeps_it(staff: User) -> None:
    client = client_for(staff)
    response = client.post("/api/v1/tags/", {"name": "Query Killer", "slug": "chosen"}, format="json")
    assert response.status_code == 201
    assert response.json()["slug"] == "query-killer"
    client.patch("/api/v1/tags/query-killer/", {"name": "Query sniper"}, format="json")
    assert Tag.objects.get().slug == "query-killer"


def test_a_tag_whose_slug_is_taken_is_a_409_conflict(staff: User) -> None:
    TagFactory.create(name="django")
    response = client_for(staff).post("/api/v1/tags/", {"name": "Django"}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "conflict"
    assert Tag.objects.count() == 1


def test_a_duplicate_tag_name_is_a_field_error(staff: User) -> None:
    TagFactory.create(name="django")
    response = client_for(staff).post("/api/v1/tags/", {"name": "django"}, format="json")
    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["name"]


def test_public_profile_runs_one_query_and_shows_no_private_fields(
    client: Client, author: User, django_assert_num_queries: Any
) -> None:
    # 1: the active user by username
    with django_assert_num_queries(1):
        response = client.get(f"/api/v1/users/{author.username}/")
    assert response.json() == {"id": author.pk, "username": "author", "bio": "", "url": "/authors/author/"}


def test_inactive_users_have_no_profile(client: Client, author: User) -> None:
    author.is_active = False
    author.save()
    assert client.get(f"/api/v1/users/{author.username}/").status_code == 404


def test_me_runs_one_query_and_shows_the_private_fields(author: User, django_assert_num_queries: Any) -> None:
    client = client_for(author)
    # 1: the token with its user
    with django_assert_num_queries(1):
        response = client.get("/api/v1/users/me/")
    assert response.json()["email"] == "author@example.com"
    assert response.json()["is_staff"] is False


def test_a_token_is_issued_for_a_username_and_password(author: User) -> None:
    from users.tests.factories import PASSWORD

    client = client_for(None)
    response = client.post("/api/v1/auth/token/", {"username": "author", "password": PASSWORD}, format="json")
    assert response.status_code == 200
    token = response.json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/v1/users/me/").json()["username"] == "author"
    wrong = client_for(None).post("/api/v1/auth/token/", {"username": "author", "password": "x"}, format="json")
    assert wrong.status_code == 400
    assert wrong.json()["code"] == "invalid"
