"""The blog's pages: status, content, and the exact number of queries each runs."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pytest_django import DjangoAssertNumQueries, Settings

from blog import services
from blog.models import Comment, Post
from blog.stats import author_dashboard, home_highlights
from blog.tests.factories import CommentFactory, PostFactory, TagFactory
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def make_posts(count: int, **kwargs: object) -> list[Post]:
    tags = [TagFactory.create(name="django"), TagFactory.create(name="postgresql")]
    posts = [PostFactory.create(tags=tags, **kwargs) for _ in range(count)]
    for post in posts:
        CommentFactory.create_batch(2, post=post)
    return posts


@pytest.mark.parametrize("count", [1, 10])
def test_home_page_runs_two_queries_whatever_the_number_of_posts(
    client: Client, django_assert_num_queries: DjangoAssertNumQueries, count: int
) -> None:
    make_posts(count)
    # 1: the page of posts with their authors and comment counts, 2: their tags. The popular posts
    # and tag cloud are a cache read, never SQL: here a miss, so a refresh is enqueued instead.
    with django_assert_num_queries(2):
        response = client.get(reverse("blog:home"))
    assert response.status_code == 200
    assert len(response.context["posts"]) == count
    assert response.context["highlights"].state == "miss"
    assert b"Popular posts and tags are being computed" in response.content
    assert response.context["posts"][0].comment_count == 2
    assert b"2 comments" in response.content
    assert b"postgresql" in response.content


def test_home_page_with_fresh_highlights_still_runs_two_queries_and_shows_them(
    client: Client, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    posts = make_posts(3)
    CommentFactory.create(post=posts[1])
    home_highlights.refresh_now()
    # 1: the page of posts, 2: their tags; the fresh highlights come from the cache, adding no SQL.
    with django_assert_num_queries(2):
        response = client.get(reverse("blog:home"))
    highlights = response.context["highlights"]
    assert highlights.state == "fresh"
    assert highlights.value["popular_posts"][0]["slug"] == posts[1].slug
    html = response.content.decode()
    assert (
        f'<li><a href="/posts/{posts[1].slug}/">{posts[1].title}</a> <span class="muted">3 comments</span></li>' in html
    )
    assert '<li class="weight-5"><a href="/tags/django/" title="3 posts">django</a></li>' in html
    assert f'Computed <time datetime="{highlights.computed_at.isoformat()}' in html


def test_home_page_lists_published_posts_newest_first_and_hides_drafts(client: Client) -> None:
    older = PostFactory.create(title="Older")
    newer = PostFactory.create(title="Newer")
    PostFactory.create(title="Secret draft", draft=True)
    response = client.get(reverse("blog:home"))
    assert [p.pk for p in response.context["posts"]] == [newer.pk, older.pk]
    assert b"Secret draft" not in response.content


def test_home_page_pages_without_counting(
    client: Client, settings: Settings, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    settings.BLOG_POSTS_PER_PAGE = 3
    make_posts(7)
    # 1: posts 4-7 (one more than the page, to know another page follows), 2: their tags
    with django_assert_num_queries(2):
        response = client.get(reverse("blog:home"), {"page": 2})
    assert len(response.context["posts"]) == 3
    assert response.context["page_obj"].has_next()
    assert b'rel="next" href="?page=3"' in response.content
    assert client.get(reverse("blog:home"), {"page": 3}).context["page_obj"].has_next() is False


@pytest.mark.parametrize("page", ["0", "-1", "abc", "99"])
def test_bad_page_numbers_are_404_not_500(client: Client, page: str) -> None:
    PostFactory.create()
    assert client.get(reverse("blog:home"), {"page": page}).status_code == 404


@pytest.mark.parametrize("count", [1, 8])
def test_tag_page_runs_three_queries(
    client: Client, django_assert_num_queries: DjangoAssertNumQueries, count: int
) -> None:
    make_posts(count)
    PostFactory.create(title="Untagged")
    # 1: the tag, 2: its page of posts with authors and comment counts, 3: their tags
    with django_assert_num_queries(3):
        response = client.get(reverse("blog:tag", kwargs={"slug": "django"}))
    assert response.status_code == 200
    assert len(response.context["posts"]) == count
    assert b"Untagged" not in response.content


def test_tag_page_lists_published_posts_newest_first_and_follows_publishing(client: Client) -> None:
    tag = TagFactory.create(name="django")
    now = timezone.now()
    PostFactory.create(title="Older", tags=[tag], published_at=now - timedelta(days=2))
    newer = PostFactory.create(title="Newer", tags=[tag], published_at=now - timedelta(days=1))
    draft = PostFactory.create(title="Draft", tags=[tag], draft=True)
    PostFactory.create(title="Scheduled", tags=[tag], published_at=now + timedelta(days=1))

    def titles() -> list[str]:
        return [p.title for p in client.get(reverse("blog:tag", kwargs={"slug": "django"})).context["posts"]]

    assert titles() == ["Newer", "Older"]
    services.post_update(post=draft, by=draft.author, publish=True)
    assert titles() == ["Draft", "Newer", "Older"]  # published now: the newest
    services.post_update(post=newer, by=newer.author, publish=False)
    assert titles() == ["Draft", "Older"]


def test_unknown_tag_is_404(client: Client) -> None:
    assert client.get(reverse("blog:tag", kwargs={"slug": "nope"})).status_code == 404


@pytest.mark.parametrize("count", [1, 8])
def test_author_page_runs_three_queries(
    client: Client, django_assert_num_queries: DjangoAssertNumQueries, count: int
) -> None:
    author = UserFactory.create(username="ada", bio="Writes about databases.")
    make_posts(count, author=author)
    PostFactory.create(title="By someone else")
    # 1: the author, 2: their page of posts with comment counts, 3: the posts' tags
    with django_assert_num_queries(3):
        response = client.get(reverse("blog:author", kwargs={"username": "ada"}))
    assert response.status_code == 200
    assert len(response.context["posts"]) == count
    assert b"Writes about databases." in response.content
    assert b"By someone else" not in response.content


@pytest.mark.parametrize("comments", [1, 12])
def test_post_page_runs_five_queries_whatever_the_number_of_comments(
    client: Client, django_assert_num_queries: DjangoAssertNumQueries, comments: int
) -> None:
    post = PostFactory.create(tags=[TagFactory.create(name="django")])
    CommentFactory.create_batch(comments, post=post)
    # 1: the post and its author, 2: its tags, 3: a page of comments with their authors,
    # 4: the next older published post, 5: the next newer one
    with django_assert_num_queries(5):
        response = client.get(post.get_absolute_url())
    assert response.status_code == 200
    assert len(response.context["comments"]) == comments
    assert b"Log in</a> to comment" in response.content


def test_post_page_pages_comments(client: Client, settings: Settings) -> None:
    settings.BLOG_COMMENTS_PER_PAGE = 5
    post = PostFactory.create()
    first = CommentFactory.create_batch(7, post=post)
    response = client.get(post.get_absolute_url(), {"comments": 2})
    assert [c.pk for c in response.context["comments"]] == [c.pk for c in first[5:]]
    assert b"Earlier comments" in response.content


def test_draft_is_visible_to_its_author_only(client: Client) -> None:
    draft = PostFactory.create(draft=True)
    assert client.get(draft.get_absolute_url()).status_code == 404
    client.force_login(UserFactory.create())
    assert client.get(draft.get_absolute_url()).status_code == 404
    client.force_login(draft.author)
    response = client.get(draft.get_absolute_url())
    assert response.status_code == 200
    assert b"Draft" in response.content
    assert b"Post comment" not in response.content


def test_logged_in_reader_comments_and_is_sent_back_to_the_comment(client: Client) -> None:
    post = PostFactory.create()
    reader = UserFactory.create()
    client.force_login(reader)
    response = client.post(reverse("blog:comment-create", kwargs={"slug": post.slug}), {"body": "  Great post!  "})
    comment = Comment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"{post.get_absolute_url()}#comment-{comment.pk}"
    assert (comment.body, comment.author, comment.post) == ("Great post!", reader, post)
    assert b"Great post!" in client.get(post.get_absolute_url()).content


def test_empty_comment_shows_the_form_again_with_an_error(client: Client) -> None:
    post = PostFactory.create()
    client.force_login(UserFactory.create())
    response = client.post(reverse("blog:comment-create", kwargs={"slug": post.slug}), {"body": "   "})
    assert response.status_code == 400
    assert b"This field is required." in response.content
    assert not Comment.objects.exists()


def test_anonymous_comment_is_sent_to_log_in(client: Client) -> None:
    post = PostFactory.create()
    response = client.post(reverse("blog:comment-create", kwargs={"slug": post.slug}), {"body": "Hi"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("users:login"))
    assert not Comment.objects.exists()


def test_comments_on_drafts_are_404(client: Client) -> None:
    draft = PostFactory.create(draft=True)
    client.force_login(draft.author)
    response = client.post(reverse("blog:comment-create", kwargs={"slug": draft.slug}), {"body": "Hi"})
    assert response.status_code == 404


def test_comment_page_accepts_only_post(client: Client) -> None:
    post = PostFactory.create()
    client.force_login(UserFactory.create())
    assert client.get(reverse("blog:comment-create", kwargs={"slug": post.slug})).status_code == 405


def test_dashboard_asks_anonymous_visitors_to_log_in(client: Client) -> None:
    response = client.get(reverse("blog:dashboard"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("users:login"))


def test_dashboard_computes_on_the_first_visit_then_serves_the_cache_without_sql(
    client: Client, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    author = UserFactory.create()
    post = PostFactory.create(author=author, title="Most talked about", body="five words in this body")
    CommentFactory.create_batch(2, post=post)
    client.force_login(author)
    # 1: the user (the session is a cache read), 2: a page of the author's own posts; the first-ever
    # visit computes in the request (on_miss="compute"): 3: published and draft counts, 4: the
    # bodies (word count), 5: comments received, 6: the most-commented posts
    with django_assert_num_queries(6):
        first = client.get(reverse("blog:dashboard"))
    # 1: the user, 2: the author's own posts; the fresh stats are a cache read
    with django_assert_num_queries(2):
        second = client.get(reverse("blog:dashboard"))
    assert (first.context["stats"].state, second.context["stats"].state) == ("miss", "fresh")
    html = second.content.decode()
    assert '<dd id="published-posts">1</dd>' in html
    assert '<dd id="words">5</dd>' in html
    assert '<dd id="comments-received">2</dd>' in html
    assert f'<a href="{post.get_absolute_url()}">Most talked about</a> <span class="muted">2 comments</span>' in html
    assert "Computed <time" in html


def test_dashboard_shows_the_stale_value_until_the_worker_refreshes_it(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    author = UserFactory.create()
    PostFactory.create(author=author)
    client.force_login(author)
    client.get(reverse("blog:dashboard"))
    PostFactory.create(author=author)
    monkeypatch.setattr(author_dashboard, "refresh_after", 0.01)
    time.sleep(0.02)
    response = client.get(reverse("blog:dashboard"))
    assert response.context["stats"].state == "stale"
    assert response.context["stats"].refresh_enqueued
    assert '<dd id="published-posts">1</dd>' in response.content.decode()
    assert "a refresh is on its way" in response.content.decode()
    author_dashboard.invalidate(author.pk)
    assert '<dd id="published-posts">2</dd>' in client.get(reverse("blog:dashboard")).content.decode()
