"""Posts, comments and tags.

Each index names the query it serves; ``tests/test_plans.py`` proves each is used on a populated
table. The list pages read published posts newest first, so the hot indexes are partial
(``status = 'published'``) and ordered like the pages. ``docs/big-tables.md`` explains the choices,
including the tag page, whose filter and order live in two tables: ``PostTag`` copies the post's
publication date onto each tag link so that one index serves it.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.postgres.expressions import ArraySubquery
from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db import DEFAULT_DB_ALIAS, connections, models
from django.db.models import Count, OuterRef, Prefetch, Q, Subquery
from django.db.models.expressions import CombinedExpression
from django.db.models.functions import Coalesce, JSONObject, Upper
from django.db.models.signals import m2m_changed
from django.dispatch import receiver
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property

from blog.markdown import excerpt_from_html, render_markdown
from project.models import Model, QuerySet, SearchVectorIndex, TimestampedModel, TrigramIndex


class Tag(Model):
    """A topic that posts are filed under."""

    name = models.CharField(max_length=50, unique=True)
    slug = models.SlugField(max_length=50, unique=True)  # the tag page looks tags up by slug

    class Meta:
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("blog:tag", kwargs={"slug": self.slug})


class PostQuerySet(QuerySet["Post"]):
    """Reusable read filters for posts."""

    def published(self) -> PostQuerySet:
        """Keep the posts readers may see: published, and not scheduled for later."""
        return self.filter(status=Post.Status.PUBLISHED, published_at__lte=timezone.now())

    def newest_first(self) -> PostQuerySet:
        """Order like every list page; the trailing ``id`` makes the order total for paging."""
        return self.order_by("-published_at", "-id")

    def visible_to(self, user: Any) -> PostQuerySet:
        """Keep published posts plus, for a logged-in user, their own drafts (all, for staff)."""
        if getattr(user, "is_staff", False):
            return self
        if getattr(user, "is_authenticated", False):
            return self.filter(Q(status=Post.Status.PUBLISHED, published_at__lte=timezone.now()) | Q(author=user))
        return self.published()

    def search(self, text: str) -> PostQuerySet:
        """Keep posts whose title or body matches ``text`` (web-search syntax: words, "phrases", -not).

        On PostgreSQL a full-text match served by ``post_search_idx``; elsewhere (SQLite) a
        case-insensitive substring match of the whole text in the title or body.
        """
        if connections[self.db].vendor != "postgresql":
            return self.filter(Q(title__icontains=text) | Q(body__icontains=text))
        query = SearchQuery(text, search_type="websearch", config="english")
        return self.annotate(document=search_document()).filter(document=query)

    def with_comment_counts(self) -> PostQuerySet:
        """Annotate ``comment_count`` with a correlated subquery.

        A ``Count("comments")`` JOIN would group every published post before the page is cut; the
        subquery runs once per row of the page, through the (post, created_at) comment index.
        """
        return self.annotate(comment_count=_comment_count())

    def with_tag_data(self) -> PostQuerySet:
        """Give each post its tags as ``tag_data``, ``[{"id", "name", "slug"}]`` in name order.

        For JSON responses. On PostgreSQL the posts' own query builds the list (an array of JSON
        objects per row from the post's tag links, through their ``(post, tag)`` index): a page is
        one query, with no Tag instances to build. Elsewhere (SQLite) it is a prefetch, one query
        more. Templates, which need Tag objects for links, use ``tag_list`` and ``TAGS``.
        """
        # The primary's engine: replicas are PostgreSQL only behind a PostgreSQL primary.
        if connections[DEFAULT_DB_ALIAS].vendor != "postgresql":
            return self.prefetch_related(TAGS)  # type: ignore[no-redef]  # the stubs' plugin vs. to_attr
        return self.annotate(tag_data=_tag_data())  # type: ignore[no-redef]  # fills the cached_property


@functools.cache
def _comment_count() -> Coalesce:
    # Built once: composing the subquery's QuerySet on every API list request is repeated work. An
    # expression is never changed by use (annotate() resolves a copy), so one serves every query.
    counts = Comment.objects.filter(post=OuterRef("pk")).order_by().values("post").annotate(n=Count("*")).values("n")
    return Coalesce(Subquery(counts), 0)


# Templates' tags: few per post and small, so one extra query for the whole page instead of one per post.
TAGS = Prefetch("tags", queryset=Tag.objects.only("id", "name", "slug"), to_attr="tag_list")


@functools.cache
def _tag_data() -> ArraySubquery:
    # Built once, like _comment_count(). JSONObject is jsonb_build_object: the keys come back in
    # jsonb's order (by length, then name), which is the order of the API's tag objects.
    links = PostTag.objects.filter(post=OuterRef("pk")).order_by("tag__name", "tag_id")
    return ArraySubquery(links.values(json=JSONObject(id="tag_id", name="tag__name", slug="tag__slug")))


def search_document() -> CombinedExpression:
    """The text the search box matches: the title (weight A) and the body (weight B), English stemming.

    ``post_search_idx`` indexes this very expression, so a query must build it the same way.
    """
    return SearchVector("title", weight="A", config="english") + SearchVector("body", weight="B", config="english")


PostManager = models.Manager.from_queryset(PostQuerySet)


class Post(TimestampedModel):
    """An article written by one author, visible to readers once published."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"

    # post_author_id_idx below starts with it, and finds a user's posts when the user is deleted.
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="posts", db_index=False)
    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=220, unique=True)  # the post page looks posts up by slug
    body = models.TextField(help_text="Markdown.")
    # Rendered from ``body`` by save(), so pages read HTML instead of parsing Markdown per request.
    body_html = models.TextField(blank=True, db_default="", editable=False)
    excerpt = models.CharField(max_length=300, blank=True, db_default="", editable=False)  # list pages' teaser
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    published_at = models.DateTimeField(null=True, blank=True)
    tags = models.ManyToManyField(Tag, related_name="posts", blank=True, through="PostTag")

    objects: ClassVar[PostManager] = PostManager()

    class Meta:
        ordering = ("-published_at", "-id")
        indexes = [
            # Home page, API posts list and its published-date range: published posts, newest first.
            models.Index(
                fields=["-published_at", "-id"],
                name="post_published_idx",
                condition=Q(status="published"),
            ),
            # Author page and the API's ?author=: one author's published posts, newest first.
            models.Index(
                fields=["author", "-published_at", "-id"],
                name="post_author_published_idx",
                condition=Q(status="published"),
            ),
            # API ?author=<me>&status=draft: a writer's own drafts, newest id first.
            models.Index(fields=["author", "-id"], name="post_author_draft_idx", condition=Q(status="draft")),
            # Dashboard: an author's own posts and drafts, newest first; deleting a user finds their posts.
            models.Index(fields=["author", "-id"], name="post_author_id_idx"),
            # Search box: words in titles and bodies (to_tsvector per column, weighted, as search() builds it).
            SearchVectorIndex(search_document(), name="post_search_idx"),
            # Admin changelist's "status: draft" filter and the API's ?status=draft, both newest id first.
            models.Index(fields=["-id"], name="post_draft_idx", condition=Q(status="draft")),
            # Admin changelist sorted by publication date, either way (ties by id the same way, see
            # project.admin.ChangeList), whatever the status filter.
            models.Index(fields=["published_at", "id"], name="post_admin_published_idx"),
            # Admin search and the API's ?search= on titles: icontains is UPPER(title) LIKE '%...%'.
            TrigramIndex(Upper("title"), name="post_title_trgm_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="draft") | Q(published_at__isnull=False),
                name="post_published_has_date",
                violation_error_message="A published post needs a publication date: set one, or save it as a draft.",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["draft", "published"]),
                name="post_status_valid",
                violation_error_message="A post is either a draft or published.",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("blog:post", kwargs={"slug": self.slug})

    @property
    def listed_since(self) -> datetime | None:
        """When the post appears on its tags' pages: its publication date while published, else never."""
        return self.published_at if self.status == self.Status.PUBLISHED else None

    def save(self, *args: Any, **kwargs: Any) -> None:
        adding = self._state.adding
        update_fields = kwargs.get("update_fields")
        if update_fields is None or "body" in update_fields:
            self.render_body()
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "body_html", "excerpt"}
        super().save(*args, **kwargs)
        if not adding and (update_fields is None or {"status", "published_at"} & set(update_fields)):
            # Published, unpublished or rescheduled: its tag links follow (one UPDATE by post_id).
            PostTag.objects.filter(post_id=self.pk).update(listed_since=self.listed_since)

    def render_body(self) -> None:
        """Fill ``body_html`` and ``excerpt`` from ``body`` (save() calls it when the body is saved)."""
        self.body_html = render_markdown(self.body)
        self.excerpt = excerpt_from_html(self.body_html)

    @cached_property
    def tag_list(self) -> list[Tag]:
        """The post's tags, in name order: filled by list and detail queries (``TAGS``), else one query.

        A plain list rather than ``post.tags.all()``: the related manager that call builds costs
        more per post than reading the prefetched rows.
        """
        return list(self.tags.all())

    @cached_property
    def tag_data(self) -> list[dict[str, Any]]:
        """The post's tags as JSON-ready dicts: annotated by ``with_tag_data()``, else from ``tag_list``."""
        return [{"id": tag.pk, "name": tag.name, "slug": tag.slug} for tag in self.tag_list]

    @property
    def is_published(self) -> bool:
        return (
            self.status == self.Status.PUBLISHED
            and self.published_at is not None
            and self.published_at <= timezone.now()
        )


class CommentQuerySet(QuerySet["Comment"]):
    """Reusable read filters for comments."""

    def oldest_first(self) -> CommentQuerySet:
        """Order like the post page: a conversation reads from the top."""
        return self.order_by("created_at", "id")


CommentManager = models.Manager.from_queryset(CommentQuerySet)


class PostTag(Model):
    """A post's tag, carrying the post's ``listed_since`` so one index lists a tag's posts newest first.

    The tag page filters on this table and orders by the post's publication date, in ``blog_post``:
    no index spans two tables, and PostgreSQL's guess of how many of a tag's posts are published
    (it assumes the two independent) can make it walk every published post for a tag that has
    none (docs/big-tables.md). With the date copied here, ``posttag_listed_idx`` answers the page in
    one index range. ``Post.save()``, ``PostTag.save()`` and ``tag_links_added`` (links added through
    the many-to-many field) keep the copy in step; code that changes posts with ``QuerySet.update()``
    or raw SQL, or makes links with ``bulk_create``, calls ``sync_listed_since`` (``seed_demo`` writes
    the value itself). The page still filters on the post's own status and date, so a stale copy
    could misorder a page but never show a draft.
    The table is the one Django created for the plain many-to-many field.
    """

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="tag_links")
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="post_links")
    listed_since = models.DateTimeField(null=True, editable=False)

    class Meta:
        db_table = "blog_post_tags"
        unique_together = [("post", "tag")]
        indexes = [
            # Tag page: a tag's listed posts, newest first (the partial index holds published ones only).
            models.Index(
                fields=["tag", "-listed_since", "-post"],
                name="posttag_listed_idx",
                condition=Q(listed_since__isnull=False),
            ),
            # The API's ?tag= for readers: a tag's listed posts, newest id first.
            models.Index(
                fields=["tag", "-post"], name="posttag_listed_post_idx", condition=Q(listed_since__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.post_id} → {self.tag_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # A link saved on its own (the admin's inline) takes its post's date.
        self.listed_since = self.post.listed_since
        super().save(*args, **kwargs)


def sync_listed_since(posts: QuerySet[Post] | None = None) -> int:
    """Copy each post's ``listed_since`` onto its tag links (all posts, or ``posts``); return rows changed."""
    listed = Post.objects.filter(pk=OuterRef("post_id"), status=Post.Status.PUBLISHED).values("published_at")[:1]
    links = PostTag.objects.all() if posts is None else PostTag.objects.filter(post__in=posts.values("pk"))
    return links.update(listed_since=Subquery(listed))


class Comment(Model):
    """A reader's reply under a post."""

    # Both foreign keys are the first column of a composite index below, so no index of their own.
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="comments", db_index=False)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="comments", db_index=False
    )
    body = models.TextField(max_length=5000, help_text="Markdown.")
    body_html = models.TextField(blank=True, db_default="", editable=False)  # rendered by save()
    created_at = models.DateTimeField(default=timezone.now)

    objects: ClassVar[CommentManager] = CommentManager()

    class Meta:
        ordering = ("created_at", "id")
        indexes = [
            # Post page: a post's comments, oldest first; also serves the per-post comment count.
            models.Index(fields=["post", "created_at", "id"], name="comment_post_created_idx"),
            # Deleting a user, and "comments by this user" in the admin.
            models.Index(fields=["author", "-created_at"], name="comment_author_created_idx"),
        ]

    def __str__(self) -> str:
        return f"Comment by {self.author_id} on {self.post_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        update_fields = kwargs.get("update_fields")
        if update_fields is None or "body" in update_fields:
            self.body_html = render_markdown(self.body)
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "body_html"}
        super().save(*args, **kwargs)


@receiver(m2m_changed, sender=PostTag)
def tag_links_added(
    sender: Any, instance: Any, action: str, reverse: bool, pk_set: set[int] | None, **kwargs: Any
) -> None:
    """Give links made by ``post.tags.add()/set()`` (or ``tag.posts...``) their post's ``listed_since``."""
    if action != "post_add" or not pk_set:
        return
    if not reverse:  # post.tags.add(...): one post, known here; drafts' links are already NULL
        if instance.listed_since is not None:
            PostTag.objects.filter(post_id=instance.pk, tag_id__in=pk_set).update(listed_since=instance.listed_since)
        return
    sync_listed_since(Post.objects.filter(pk__in=pk_set))
