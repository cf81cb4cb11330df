"""Atom and RSS feeds (Django's syndication framework): the whole site, each tag, each author.

A feed is the newest ``BLOG_FEED_ITEMS`` published posts: one range of the same index the
matching list page uses, plus the author and tag lookups. Entries carry the HTML stored at save
time, so a feed request parses no Markdown.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.feedgenerator import Atom1Feed

from blog.models import Post, PostQuerySet, Tag
from users.models import User


class LatestPostsFeed(Feed):
    """The site's newest published posts, as RSS 2.0."""

    title = "Django at Scale: latest posts"
    description = "New posts on the Django at Scale reference blog."

    def link(self) -> str:
        return reverse("blog:home")

    def base_items(self) -> PostQuerySet:
        return (
            Post.objects.published()
            .newest_first()
            .select_related("author")
            .only("title", "slug", "excerpt", "body_html", "published_at", "updated_at", "author__username")
        )

    def items(self, obj: Any = None) -> list[Post]:
        return list(self.base_items()[: settings.BLOG_FEED_ITEMS])

    def item_title(self, item: Post) -> str:
        return item.title

    def item_description(self, item: Post) -> str:
        return item.body_html

    def item_author_name(self, item: Post) -> str:
        return item.author.username

    def item_pubdate(self, item: Post) -> datetime | None:
        return item.published_at

    def item_updateddate(self, item: Post) -> datetime:
        return item.updated_at


class LatestPostsAtomFeed(LatestPostsFeed):
    """The site's newest published posts, as Atom."""

    feed_type = Atom1Feed
    subtitle = LatestPostsFeed.description


class TagFeed(LatestPostsAtomFeed):
    """A tag's newest published posts, as Atom (one range of ``posttag_listed_idx``)."""

    def get_object(self, request: HttpRequest, slug: str) -> Tag:
        return get_object_or_404(Tag, slug=slug)

    def title(self, obj: Tag) -> str:  # type: ignore[override]
        return f"Django at Scale: posts tagged {obj.name}"

    def link(self, obj: Tag) -> str:  # type: ignore[override]
        return obj.get_absolute_url()

    def items(self, obj: Tag) -> list[Post]:  # type: ignore[override]
        links = {"tag_links__tag": obj, "tag_links__listed_since__lte": timezone.now()}
        posts = self.base_items().filter(**links).order_by("-tag_links__listed_since", "-tag_links__post_id")
        return list(posts[: settings.BLOG_FEED_ITEMS])


class AuthorFeed(LatestPostsAtomFeed):
    """An author's newest published posts, as Atom (one range of ``post_author_published_idx``)."""

    def get_object(self, request: HttpRequest, username: str) -> User:
        return get_object_or_404(User, username=username, is_active=True)

    def title(self, obj: User) -> str:  # type: ignore[override]
        return f"Django at Scale: posts by {obj.public_name}"

    def link(self, obj: User) -> str:  # type: ignore[override]
        return obj.get_absolute_url()

    def items(self, obj: User) -> list[Post]:  # type: ignore[override]
        return list(self.base_items().filter(author=obj)[: settings.BLOG_FEED_ITEMS])
