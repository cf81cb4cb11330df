"""The blog's slow aggregations (blog/stats.py): what each returns, computed directly."""

from __future__ import annotations

import pytest

from blog.stats import author_dashboard, home_highlights, site_stats
from blog.tests.factories import CommentFactory, PostFactory, TagFactory
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_author_dashboard_counts_posts_words_comments_and_ranks_most_commented() -> None:
    author = UserFactory.create()
    quiet = PostFactory.create(author=author, title="Quiet", body="one two three")
    busy = PostFactory.create(author=author, title="Busy", body="four  five\nsix seven")
    PostFactory.create(author=author, draft=True, body="draft words count too")
    PostFactory.create(body="someone else's words")
    CommentFactory.create_batch(3, post=busy)
    CommentFactory.create(post=quiet)
    CommentFactory.create(post=PostFactory.create())  # on someone else's post
    stats = author_dashboard.func(author.pk)
    assert stats == {
        "published_posts": 2,
        "draft_posts": 1,
        "words": 3 + 4 + 4,
        "comments_received": 4,
        "most_commented": [
            {"title": "Busy", "slug": busy.slug, "comment_total": 3},
            {"title": "Quiet", "slug": quiet.slug, "comment_total": 1},
        ],
    }


def test_author_dashboard_of_a_new_author_is_all_zero() -> None:
    assert author_dashboard.func(UserFactory.create().pk) == {
        "published_posts": 0,
        "draft_posts": 0,
        "words": 0,
        "comments_received": 0,
        "most_commented": [],
    }


def test_home_highlights_rank_published_posts_by_comments_and_weigh_tags() -> None:
    big, small, unused = TagFactory.create(name="django"), TagFactory.create(name="css"), TagFactory.create(name="zzz")
    posts = [PostFactory.create(tags=[big]) for _ in range(9)]
    PostFactory.create(tags=[small])
    draft = PostFactory.create(draft=True, tags=[unused])
    CommentFactory.create_batch(2, post=posts[0])
    CommentFactory.create(post=posts[1])
    CommentFactory.create_batch(5, post=draft)  # drafts are not popular, however commented
    highlights = home_highlights.func()
    assert highlights["popular_posts"] == [
        {"title": posts[0].title, "slug": posts[0].slug, "comment_total": 2},
        {"title": posts[1].title, "slug": posts[1].slug, "comment_total": 1},
    ]
    # Alphabetical, weighted 1-5 by log of the post count; tags of drafts only are left out.
    assert highlights["tags"] == [
        {"name": "css", "slug": "css", "post_total": 1, "weight": 2},
        {"name": "django", "slug": "django", "post_total": 9, "weight": 5},
    ]


def test_site_stats_count_published_posts_comments_authors_and_tags() -> None:
    author = UserFactory.create()
    PostFactory.create_batch(2, author=author)
    PostFactory.create(draft=True)
    CommentFactory.create(post=PostFactory.create(author=author))
    TagFactory.create()
    # The comment's post is the author's third; its commenter wrote no post.
    assert site_stats.func() == {"published_posts": 3, "comments": 1, "authors": 1, "tags": 1}
