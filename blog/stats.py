"""The blog's slow aggregations, served from the background-filled cache (project/cache/background.py).

Each scans far more rows than a page shows, so no request runs it once a value exists: readers get
the cached value (with the time it was computed) and a Celery worker recomputes it when stale.
Values are plain dicts and lists (no model instances), so they pickle small and cannot go stale
through lazy relations.
"""

from __future__ import annotations

import math
from typing import Any

from django.db.models import Count, Q
from django.utils import timezone

from blog.models import Comment, Post, Tag
from project.cache.background import background_cached
from users.models import User

POPULAR_POSTS = 5
TAG_CLOUD_SIZE = 30
TAG_WEIGHTS = 5  # tag cloud sizes 1..5


@background_cached(refresh_after=300, on_miss="default", default=None)
def home_highlights() -> dict[str, Any]:
    """Return the most-commented published posts and the tag cloud for the home page.

    ``on_miss="default"``: the home page is the hottest page, so even its first-ever request does
    not wait; it shows "being computed" until the worker has run.
    """
    now = timezone.now()
    popular = (
        Post.objects.published()
        .annotate(comment_total=Count("comments"))
        .filter(comment_total__gt=0)
        .order_by("-comment_total", "-published_at", "-id")
        .values("title", "slug", "comment_total")[:POPULAR_POSTS]
    )
    tags: list[dict[str, Any]] = [
        dict(row)
        for row in Tag.objects.annotate(
            post_total=Count("posts", filter=Q(posts__status=Post.Status.PUBLISHED, posts__published_at__lte=now))
        )
        .filter(post_total__gt=0)
        .order_by("-post_total", "name")
        .values("name", "slug", "post_total")[:TAG_CLOUD_SIZE]
    ]
    if tags:
        # Logarithmic weights: a few huge tags should not flatten every other one to the smallest size.
        top = math.log(tags[0]["post_total"] + 1)
        for tag in tags:
            tag["weight"] = 1 + round((TAG_WEIGHTS - 1) * math.log(tag["post_total"] + 1) / top)
        tags.sort(key=lambda tag: tag["name"])
    return {"popular_posts": list(popular), "tags": tags}


@background_cached(refresh_after=60, on_miss="compute")
def author_dashboard(author_id: int) -> dict[str, Any]:
    """Return an author's totals: posts, words written, comments received, most-commented posts.

    ``on_miss="compute"``: an author's first visit computes it in the request (they wait once);
    afterwards the worker keeps it fresh.
    """
    posts = Post.objects.filter(author_id=author_id)
    counts = posts.aggregate(
        published=Count("id", filter=Q(status=Post.Status.PUBLISHED)),
        drafts=Count("id", filter=Q(status=Post.Status.DRAFT)),
    )
    # Counted in Python so it works the same on SQLite and PostgreSQL; it is background work.
    words = sum(len(body.split()) for body in posts.values_list("body", flat=True).iterator(chunk_size=500))
    most_commented = (
        posts.filter(status=Post.Status.PUBLISHED)
        .annotate(comment_total=Count("comments"))
        .filter(comment_total__gt=0)
        .order_by("-comment_total", "-published_at", "-id")
        .values("title", "slug", "comment_total")[:POPULAR_POSTS]
    )
    return {
        "published_posts": counts["published"],
        "draft_posts": counts["drafts"],
        "words": words,
        "comments_received": Comment.objects.filter(post__author_id=author_id).count(),
        "most_commented": list(most_commented),
    }


@background_cached(refresh_after=60, on_miss="compute")
def site_stats() -> dict[str, int]:
    """Return site-wide totals for the API: published posts, comments, active authors, tags."""
    now = timezone.now()
    return {
        "published_posts": Post.objects.published().count(),
        "comments": Comment.objects.count(),
        "authors": User.objects.filter(posts__status=Post.Status.PUBLISHED, posts__published_at__lte=now)
        .distinct()
        .count(),
        "tags": Tag.objects.count(),
    }
