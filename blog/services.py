"""Blog writes with side effects: plain, keyword-only functions, each one transaction.

Views, the API, the admin and management commands call these instead of saving models directly,
so every way in to the data behaves the same.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from blog.models import Comment, Post, Tag
from users.models import User

# Slugs that name pages under /posts/ rather than a post.
RESERVED_SLUGS = frozenset({"new"})


def unique_post_slug(title: str) -> str:
    """Return a slug for ``title`` that no post has yet (``title``, ``title-2``, ...)."""
    base = slugify(title)[:200] or "post"
    slug, number = base, 1
    while slug in RESERVED_SLUGS or Post.objects.filter(slug=slug).exists():
        number += 1
        slug = f"{base}-{number}"
    return slug


@transaction.atomic
def post_create(
    *,
    author: User,
    title: str,
    body: str,
    tags: Iterable[Tag] = (),
    publish: bool = False,
) -> Post:
    """Create a post as a draft, or published now when ``publish`` is true."""
    post = Post.objects.create(
        author=author,
        title=title,
        slug=unique_post_slug(title),
        body=body,
        status=Post.Status.PUBLISHED if publish else Post.Status.DRAFT,
        published_at=timezone.now() if publish else None,
    )
    post.tags.set(list(tags))
    return post


@transaction.atomic
def post_publish(*, post: Post, by: User) -> Post:
    """Publish a draft now; publishing an already published post keeps its date."""
    if post.author_id != by.pk and not by.is_staff:
        raise PermissionError("Only the author or staff may publish this post.")
    if post.status != Post.Status.PUBLISHED:
        post.status = Post.Status.PUBLISHED
        post.published_at = timezone.now()
        post.save(update_fields=["status", "published_at", "updated_at"])
    return post


@transaction.atomic
def comment_create(*, post: Post, author: User, body: str) -> Comment:
    """Add a comment under a published post and, once committed, tell the post's author."""
    from blog.tasks import notify_author_of_comment

    if not post.is_published:
        raise ValueError("Comments are open on published posts only.")
    comment = Comment.objects.create(post=post, author=author, body=body.strip())
    transaction.on_commit(lambda: notify_author_of_comment.delay(comment.pk))
    return comment


@transaction.atomic
def post_update(
    *,
    post: Post,
    by: User,
    title: str | None = None,
    body: str | None = None,
    tags: Iterable[Tag] | None = None,
    publish: bool | None = None,
) -> Post:
    """Change a post's given fields; ``publish`` true publishes now, false turns it back into a draft.

    The slug never changes, so links to the post keep working after a retitle.
    """
    if post.author_id != by.pk and not by.is_staff:
        raise PermissionError("Only the author or staff may edit this post.")
    fields = ["updated_at"]
    if title is not None:
        post.title = title
        fields.append("title")
    if body is not None:
        post.body = body
        fields.append("body")
    if publish is True and post.status != Post.Status.PUBLISHED:
        post.status, post.published_at = Post.Status.PUBLISHED, timezone.now()
        fields += ["status", "published_at"]
    elif publish is False and post.status != Post.Status.DRAFT:
        post.status, post.published_at = Post.Status.DRAFT, None
        fields += ["status", "published_at"]
    post.save(update_fields=fields)
    if tags is not None:
        post.tags.set(list(tags))
    return post


@transaction.atomic
def post_delete(*, post: Post, by: User) -> None:
    """Delete a post with its comments."""
    if post.author_id != by.pk and not by.is_staff:
        raise PermissionError("Only the author or staff may delete this post.")
    post.delete()


@transaction.atomic
def comment_update(*, comment: Comment, by: User, body: str) -> Comment:
    """Change a comment's text."""
    if comment.author_id != by.pk and not by.is_staff:
        raise PermissionError("Only the author or staff may edit this comment.")
    comment.body = body.strip()
    comment.save(update_fields=["body"])
    return comment


@transaction.atomic
def comment_delete(*, comment: Comment, by: User) -> None:
    """Delete a comment."""
    if comment.author_id != by.pk and not by.is_staff:
        raise PermissionError("Only the author or staff may delete this comment.")
    comment.delete()


@transaction.atomic
def tag_create(*, name: str, by: User) -> Tag:
    """Create a tag (staff only); its slug comes from its name."""
    if not by.is_staff:
        raise PermissionError("Only staff may create tags.")
    return Tag.objects.create(name=name, slug=slugify(name)[:50] or "tag")


@transaction.atomic
def tag_update(*, tag: Tag, by: User, name: str) -> Tag:
    """Rename a tag (staff only); its slug stays, so tag links keep working."""
    if not by.is_staff:
        raise PermissionError("Only staff may rename tags.")
    tag.name = name
    tag.save(update_fields=["name"])
    return tag


@transaction.atomic
def tag_delete(*, tag: Tag, by: User) -> None:
    """Delete a tag, removing it from its posts (staff only)."""
    if not by.is_staff:
        raise PermissionError("Only staff may delete tags.")
    tag.delete()
