"""The posts and tags endpoints: content, visibility and exact query counts."""

from __future__ import annotations

import pytest
from django.test import Client

from blog.tests.factories import CommentFactory, PostFactory, TagFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("count", [1, 15])
def test_post_list_runs_two_queries_whatever_the_page_size(
    client: Client, django_assert_num_queries, count: int
) -> None:
    tags = [TagFactory.create(name="django"), TagFactory.create(name="sql")]
    for _ in range(count):
        CommentFactory.create(post=PostFactory.create(tags=tags))
    # 1: a page of posts with authors and comment counts (cursor: no COUNT), 2: their tags
    with django_assert_num_queries(2):
        response = client.get("/api/v1/posts/")
    assert response.status_code == 200
    body = response.json()
    assert len(body["results"]) == count
    assert set(body) == {"next", "previous", "results"}
    first = body["results"][0]
    assert first["comment_count"] == 1
    assert [t["slug"] for t in first["tags"]] == ["django", "sql"]
    assert first["author"].startswith("user")


def test_post_list_pages_by_cursor_and_caps_the_page_size(client: Client) -> None:
    posts = PostFactory.create_batch(5)
    page = client.get("/api/v1/posts/", {"page_size": 2}).json()
    assert [p["id"] for p in page["results"]] == [posts[4].pk, posts[3].pk]
    assert [p["id"] for p in client.get(page["next"]).json()["results"]] == [posts[2].pk, posts[1].pk]
    assert len(client.get("/api/v1/posts/", {"page_size": 10_000}).json()["results"]) == 5


def test_post_detail_runs_two_queries(client: Client, django_assert_num_queries) -> None:
    post = PostFactory.create(tags=[TagFactory.create()])
    # 1: the post with author and comment count, 2: its tags
    with django_assert_num_queries(2):
        response = client.get(f"/api/v1/posts/{post.slug}/")
    assert response.status_code == 200
    assert response.json()["title"] == post.title


def test_drafts_are_hidden_from_everyone_but_their_author(client: Client) -> None:
    draft = PostFactory.create(draft=True)
    assert client.get(f"/api/v1/posts/{draft.slug}/").status_code == 404
    assert client.get("/api/v1/posts/").json()["results"] == []
    client.force_login(draft.author)
    assert client.get(f"/api/v1/posts/{draft.slug}/").json()["status"] == "draft"


def test_tags_list(client: Client, django_assert_num_queries) -> None:
    TagFactory.create(name="django")
    # 1: a page of tags
    with django_assert_num_queries(1):
        response = client.get("/api/v1/tags/")
    assert [t["name"] for t in response.json()["results"]] == ["django"]


def test_bad_cursor_is_400_naming_the_parameter(client: Client) -> None:
    response = client.get("/api/v1/posts/", {"cursor": "garbage"})
    assert response.status_code == 400
    assert response.json()["fields"] == {"cursor": ["Invalid cursor."]}
