"""Blog writes with side effects: plain, keyword-only functions, each one transaction.

The API's post, comment and tag writes (``api/views.py``), the web comment form (``blog/views.py``)
and the admin's deletes (``blog/admin.py``) call these. The admin's adds and changes save through
Django's forms (they edit what the services keep fixed: slugs, authors, publication dates), and
``seed_demo`` inserts rows in bulk SQL; docs/architecture.md lists every write path. A refusal is one
of ``project.exceptions`` (``NotPermitted``, ``Conflict``), which each web layer turns into its HTTP
status in one place.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator

from django.db import IntegrityError, router, transaction
from django.utils import timezone
from django.utils.text import slugify

from blog.models import Comment, Post, Tag
from project.broker import enqueue
from project.exceptions import Conflict
from project.permissions import require_owner_or_staff, require_staff
from users.models import User

# Slugs that name pages under /posts/ rather than a post.
RESERVED_SLUGS = frozenset({"new"})


def post_slugs(title: str) -> Iterator[str]:
    """Yield the slugs a post titled ``title`` may take, in order: ``title``, ``title-2``, ..."""
    base = slugify(title)[:200] or "post"
    if base not in RESERVED_SLUGS:
        yield base
    for number in itertools.count(2):
        yield f"{base}-{number}"


def insert_with_unique_slug(post: Post, slugs: Iterable[str]) -> Post:
    """Insert ``post`` under the first of ``slugs`` no other post holds, without a check-then-insert race.

    Each try is an INSERT in its own savepoint: the unique index decides, so two writers with one
    title never both take a slug, and the loser's INSERT (blocked until the winner commits) fails
    alone and moves on to the next slug. A slug seen taken is skipped without an INSERT.
    """
    alias = router.db_for_write(Post, instance=post)  # the hint and the retry read what the INSERT sees
    posts = Post.objects.using(alias)
    for slug in slugs:
        if posts.filter(slug=slug).exists():
            continue
        post.slug = slug
        try:
            with transaction.atomic(using=alias):
                post.save(using=alias, force_insert=True)
        except IntegrityError:
            if not posts.filter(slug=slug).exists():
                raise  # another constraint, not the slug: not ours to retry
            continue
        return post
    raise AssertionError("post_slugs is endless")  # pragma: no cover


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
    post = Post(
        author=author,
        title=title,
        body=body,
        status=Post.Status.PUBLISHED if publish else Post.Status.DRAFT,
        published_at=timezone.now() if publish else None,
    )
    insert_with_unique_slug(post, post_slugs(title))
    post.tags.set(list(tags))
    return post


@transaction.atomic
def comment_create(*, post: Post, author: User, body: str) -> Comment:
    """Add a comment under a published post and, once committed, tell the post's author."""
    from blog.tasks import notify_author_of_comment

    if not post.is_published:
        raise Conflict("Comments are open on published posts only.")
    comment = Comment.objects.create(post=post, author=author, body=body.strip())
    # Fail-soft: the comment is saved whatever the broker's state; a lost e-mail is logged and counted.
    transaction.on_commit(lambda: enqueue(notify_author_of_comment, comment.pk))
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
    require_owner_or_staff(by, post, "edit this post")
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
    require_owner_or_staff(by, post, "delete this post")
    post.delete()


@transaction.atomic
def comment_update(*, comment: Comment, by: User, body: str) -> Comment:
    """Change a comment's text."""
    require_owner_or_staff(by, comment, "edit this comment")
    comment.body = body.strip()
    comment.save(update_fields=["body"])
    return comment


@transaction.atomic
def comment_delete(*, comment: Comment, by: User) -> None:
    """Delete a comment."""
    require_owner_or_staff(by, comment, "delete this comment")
    comment.delete()


@transaction.atomic
def tag_create(*, name: str, by: User) -> Tag:
    """Create a tag (staff only); its slug comes from its name."""
    require_staff(by, "create tags")
    return Tag.objects.create(name=name, slug=slugify(name)[:50] or "tag")


@transaction.atomic
def tag_update(*, tag: Tag, by: User, name: str) -> Tag:
    """Rename a tag (staff only); its slug stays, so tag links keep working."""
    require_staff(by, "rename tags")
    tag.name = name
    tag.save(update_fields=["name"])
    return tag


@transaction.atomic
def tag_delete(*, tag: Tag, by: User) -> None:
    """Delete a tag, removing it from its posts (staff only)."""
    require_staff(by, "delete tags")
    tag.delete()
