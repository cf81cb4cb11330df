"""The posts endpoint: content, visibility, writes through the services, and exact query counts."""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest
from django.test import Client
from rest_framework.test import APIClient

from api.filters import PostFilter
from api.tests.conftest import client_for
from blog.models import Post
from blog.tests.factories import CommentFactory, PostFactory, TagFactory
from users.models import User

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("count", [1, 15])
def test_post_list_runs_one_query_whatever_the_page_size(
    client: Client, django_assert_num_queries: Any, count: int
) -> None:
    tags = [TagFactory.create(name="django"), TagFactory.create(name="sql")]
    for _ in range(count):
        CommentFactory.create(post=PostFactory.create(tags=tags))
    # 1: a page of posts with authors, comment counts and tags (cursor: no COUNT)
    with django_assert_num_queries(1):
        response = client.get("/api/v1/posts/")
    assert response.status_code == 200
    body = response.json()
    assert len(body["results"]) == count
    assert set(body) == {"next", "previous", "results"}
    first = body["results"][0]
    assert first["comment_count"] == 1
    assert [t["slug"] for t in first["tags"]] == ["django", "sql"]
    assert first["author"].startswith("user")
    assert "body" not in first  # the list query defers the biggest column


@pytest.mark.parametrize("count", [1, 15])
def test_post_list_for_a_token_user_runs_two_queries_whatever_the_page_size(
    author: User, django_assert_num_queries: Any, count: int
) -> None:
    client = client_for(author)
    tag = TagFactory.create(name="django")
    PostFactory.create_batch(count, tags=[tag])
    PostFactory.create(author=author, draft=True, tags=[tag])
    # 1: the token with its user, 2: a page of posts (published + own drafts) with authors,
    # comment counts and tags
    with django_assert_num_queries(2):
        response = client.get("/api/v1/posts/", {"tag": "django"})
    assert len(response.json()["results"]) == count + 1


def test_post_list_for_a_session_user_runs_two_queries(author: User, django_assert_num_queries: Any) -> None:
    client = APIClient()
    client.force_login(author)
    PostFactory.create_batch(3)
    # 1: the session's user (the session itself is a cache read), 2: a page of posts with authors,
    # comment counts and tags
    with django_assert_num_queries(2):
        response = client.get("/api/v1/posts/")
    assert len(response.json()["results"]) == 3


def test_post_list_pages_by_cursor_and_caps_the_page_size(client: Client) -> None:
    posts = PostFactory.create_batch(5)
    page = client.get("/api/v1/posts/", {"page_size": 2}).json()
    assert [p["id"] for p in page["results"]] == [posts[4].pk, posts[3].pk]
    assert [p["id"] for p in client.get(page["next"]).json()["results"]] == [posts[2].pk, posts[1].pk]
    assert len(client.get("/api/v1/posts/", {"page_size": 10_000}).json()["results"]) == 5


def test_page_size_defaults_to_20_and_is_capped_at_100(client: Client) -> None:
    author = PostFactory.create().author
    PostFactory.create_batch(105, author=author)
    assert len(client.get("/api/v1/posts/").json()["results"]) == 20
    assert len(client.get("/api/v1/posts/", {"page_size": 1000}).json()["results"]) == 100


@pytest.mark.parametrize("page_size", ["0", "-1", "abc", "1.5"])
def test_a_page_size_that_is_not_a_positive_whole_number_is_400(client: Client, page_size: str) -> None:
    response = client.get("/api/v1/posts/", {"page_size": page_size})
    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["page_size"]


def test_post_list_orders_oldest_first_on_request(client: Client) -> None:
    posts = PostFactory.create_batch(3)
    body = client.get("/api/v1/posts/", {"ordering": "id"}).json()
    assert [p["id"] for p in body["results"]] == [p.pk for p in posts]


def test_ordering_by_an_unindexed_field_is_refused(client: Client) -> None:
    response = client.get("/api/v1/posts/", {"ordering": "title"})
    assert response.status_code == 400
    assert response.json()["fields"] == {"ordering": ["Order by one of: -id, id."]}


def test_post_detail_runs_one_query(client: Client, django_assert_num_queries: Any) -> None:
    post = PostFactory.create(tags=[TagFactory.create()])
    CommentFactory.create(post=post)
    # 1: the post with author, comment count and tags
    with django_assert_num_queries(1):
        response = client.get(f"/api/v1/posts/{post.slug}/")
    assert response.status_code == 200
    body = response.json()
    assert (body["title"], body["body"], body["comment_count"]) == (post.title, post.body, 1)


def test_filters_by_tag_author_date_range_and_title(client: Client) -> None:
    django = TagFactory.create(name="django")
    match = PostFactory.create(title="Scaling Django", tags=[django])
    PostFactory.create(title="Scaling Django elsewhere")  # no tag
    PostFactory.create(title="Unrelated", tags=[django])

    def ids(**params: str) -> list[int]:
        response = client.get("/api/v1/posts/", params)
        assert response.status_code == 200, response.json()
        return [p["id"] for p in response.json()["results"]]

    assert ids(tag="django", search="scaling") == [match.pk]
    assert ids(author=match.author.username) == [match.pk]
    published = match.published_at.isoformat()  # type: ignore[union-attr]
    assert match.pk in ids(published_after=published)
    assert match.pk not in ids(published_before=published)
    assert ids(tag="no-such-tag") == []


def test_tag_filter_runs_one_query_and_shows_readers_published_posts_only(
    author: User, django_assert_num_queries: Any
) -> None:
    tag = TagFactory.create(name="django")
    published = PostFactory.create_batch(3, tags=[tag], author=author)
    draft = PostFactory.create(tags=[tag], author=author, draft=True)
    # 1: the tag's listed posts, newest id first (the tag's id a subquery by its slug), with their tags
    with django_assert_num_queries(1):
        response = client_for(None).get("/api/v1/posts/", {"tag": "django"})
    assert [p["id"] for p in response.json()["results"]] == [p.pk for p in reversed(published)]
    # The author also sees their own draft with the tag, which has no listed link.
    mine = client_for(author).get("/api/v1/posts/", {"tag": "django"}).json()["results"]
    assert [p["id"] for p in mine] == [draft.pk, *(p.pk for p in reversed(published))]


def test_a_list_without_filter_parameters_builds_no_filterset(client: Client) -> None:
    # Building django-filter's form is wasted work when no filter is named, so it is skipped.
    PostFactory.create()
    with mock.patch.object(PostFilter, "__init__", side_effect=AssertionError("FilterSet built")):
        assert client.get("/api/v1/posts/", {"page_size": "5", "ordering": "id"}).status_code == 200
        with pytest.raises(AssertionError, match="FilterSet built"):
            client.get("/api/v1/posts/", {"tag": ""})
    # A bad value still reaches the FilterSet and is refused.
    response = client.get("/api/v1/posts/", {"published_after": "yesterday"})
    assert response.status_code == 400
    assert "published_after" in response.json()["fields"]


def test_drafts_are_visible_only_to_their_author_and_staff(author: User, other: User, staff: User) -> None:
    draft = PostFactory.create(author=author, draft=True)
    for user, sees in [(None, False), (other, False), (author, True), (staff, True)]:
        client = client_for(user)
        detail = client.get(f"/api/v1/posts/{draft.slug}/")
        assert detail.status_code == (200 if sees else 404)
        listed = [p["id"] for p in client.get("/api/v1/posts/").json()["results"]]
        assert listed == ([draft.pk] if sees else [])
        drafts = [p["id"] for p in client.get("/api/v1/posts/", {"status": "draft"}).json()["results"]]
        assert drafts == ([draft.pk] if sees else [])


def test_a_scheduled_post_is_hidden_like_a_draft(client: Client) -> None:
    from datetime import timedelta

    from django.utils import timezone

    post = PostFactory.create(published_at=timezone.now() + timedelta(days=1))
    assert client.get(f"/api/v1/posts/{post.slug}/").status_code == 404


def test_create_makes_the_requester_the_author_whatever_the_body_says(author: User, other: User) -> None:
    tag = TagFactory.create(name="django")
    response = client_for(author).post(
        "/api/v1/posts/",
        {
            "title": "My post",
            "body": "Text.",
            "tag_slugs": ["django"],
            "status": "published",
            # mass assignment attempts: all ignored
            "author": other.username,
            "id": 999_999,
            "slug": "chosen-slug",
            "published_at": "2001-01-01T00:00:00Z",
            "comment_count": 42,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    post = Post.objects.get(pk=body["id"])
    assert (post.author, post.slug, post.status) == (author, "my-post", "published")
    assert post.pk != 999_999 and post.published_at.year > 2001  # type: ignore[union-attr]
    assert list(post.tags.all()) == [tag]
    assert (body["author"], body["comment_count"], body["tags"][0]["slug"]) == ("author", 0, "django")


def test_a_new_post_is_a_draft_unless_published(author: User) -> None:
    response = client_for(author).post("/api/v1/posts/", {"title": "Draft", "body": "Text."}, format="json")
    assert (response.json()["status"], response.json()["published_at"]) == ("draft", None)


def test_update_publishes_retitles_and_replaces_tags_but_keeps_the_slug(author: User) -> None:
    post = PostFactory.create(author=author, draft=True, slug="first-title", tags=[TagFactory.create(name="old")])
    TagFactory.create(name="new")
    response = client_for(author).patch(
        f"/api/v1/posts/{post.slug}/",
        {"title": "Second title", "status": "published", "tag_slugs": ["new"], "author": "other"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    post.refresh_from_db()
    assert (post.title, post.slug, post.status, post.author) == ("Second title", "first-title", "published", author)
    assert post.published_at is not None
    assert [t.slug for t in post.tags.all()] == ["new"]


def test_unpublishing_turns_a_post_back_into_a_draft(author: User) -> None:
    post = PostFactory.create(author=author)
    client_for(author).patch(f"/api/v1/posts/{post.slug}/", {"status": "draft"}, format="json")
    post.refresh_from_db()
    assert (post.status, post.published_at) == ("draft", None)


def test_delete_removes_the_post_and_its_comments(author: User) -> None:
    post = PostFactory.create(author=author)
    CommentFactory.create(post=post)
    assert client_for(author).delete(f"/api/v1/posts/{post.slug}/").status_code == 204
    assert not Post.objects.filter(pk=post.pk).exists()


def test_bad_cursor_is_400_naming_the_parameter(client: Client) -> None:
    response = client.get("/api/v1/posts/", {"cursor": "garbage"})
    assert response.status_code == 400
    assert response.json()["fields"] == {"cursor": ["Invalid cursor."]}


def test_browsable_api_renders_for_a_logged_in_user(author: User) -> None:
    client = Client()
    client.force_login(author)
    PostFactory.create(title="Shown in HTML")
    response = client.get("/api/v1/posts/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert b"Shown in HTML" in response.content
    assert b"author" in response.content  # the logged-in user's name in the navbar


def test_the_hand_written_representation_matches_the_declared_fields(author: User) -> None:
    from api.serializers import PostListSerializer, PostSerializer

    post = PostFactory.create(author=author, tags=[TagFactory.create(name="django")])
    body = client_for(author).get(f"/api/v1/posts/{post.slug}/").json()
    readable = [name for name, field in PostSerializer().fields.items() if not field.write_only]
    assert list(body) == readable
    assert body["published_at"] == post.published_at.isoformat().replace("+00:00", "Z")  # type: ignore[union-attr]
    assert body["url"] == post.get_absolute_url()
    listed = client_for(author).get("/api/v1/posts/").json()["results"][0]
    assert list(listed) == [name for name, f in PostListSerializer().fields.items() if not f.write_only]
    # The list's rows are values() dicts, the detail a model instance: the same post either way.
    assert listed == {key: value for key, value in body.items() if key != "body"}


def test_the_viewsets_queryset_is_built_once_per_action_and_cloned_per_request(
    author: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    from api.views import PostViewSet
    from project import api as project_api

    shared: dict[Any, Any] = {}  # the per-process QuerySets, emptied for this test
    monkeypatch.setattr(project_api, "_BASE_QUERYSETS", shared)
    built: list[str | None] = []
    build = PostViewSet.build_queryset.__func__  # type: ignore[attr-defined]

    def counting_build(cls: type[PostViewSet], action: str | None) -> Any:
        built.append(action)
        return build(cls, action)

    monkeypatch.setattr(PostViewSet, "build_queryset", classmethod(counting_build))
    draft = PostFactory.create(author=author, draft=True)
    # Three readers in turn: the shared QuerySet must never carry one requester's filter to the next.
    assert draft.pk not in [p["id"] for p in client_for(None).get("/api/v1/posts/").json()["results"]]
    assert draft.pk in [p["id"] for p in client_for(author).get("/api/v1/posts/").json()["results"]]
    assert draft.pk not in [p["id"] for p in client_for(None).get("/api/v1/posts/").json()["results"]]
    assert client_for(author).get(f"/api/v1/posts/{draft.slug}/").status_code == 200
    assert built == ["list", "retrieve"]
    # Never evaluated (it would keep its rows for the life of the process). Django has no public
    # "evaluated?" test, hence its result cache.
    assert shared[(PostViewSet, "list")]._result_cache is None  # noqa: SLF001
