"""Blog services: creating and publishing posts, adding comments, who may change what."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection, connections, transaction
from pytest_django import DjangoCaptureOnCommitCallbacks

from blog import services
from blog.models import Comment, Post
from blog.services import comment_create, post_create, post_slugs, post_update
from blog.tests.factories import CommentFactory, PostFactory, TagFactory
from project.exceptions import Conflict, NotPermitted
from tests.support import wait_for
from users.models import User
from users.tests.factories import StaffFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_post_create_makes_a_draft_with_a_unique_slug_and_tags() -> None:
    author = UserFactory.create()
    tag = TagFactory.create(name="django")
    first = post_create(author=author, title="Hello, World!", body="Hi", tags=[tag])
    second = post_create(author=author, title="Hello world", body="Again", publish=True)
    assert (first.slug, first.status, first.published_at) == ("hello-world", Post.Status.DRAFT, None)
    assert list(first.tags.all()) == [tag]
    assert (second.slug, second.status) == ("hello-world-2", Post.Status.PUBLISHED)
    assert second.published_at is not None


def test_post_slugs_fall_back_for_titles_without_letters() -> None:
    slugs = post_slugs("!!!")
    assert [next(slugs) for _ in range(3)] == ["post", "post-2", "post-3"]


def test_post_create_skips_every_slug_already_taken() -> None:
    author = UserFactory.create()
    for slug in ("same", "same-2", "same-4"):
        PostFactory.create(slug=slug)
    assert post_create(author=author, title="Same", body=".").slug == "same-3"
    assert post_create(author=author, title="Same", body=".").slug == "same-5"


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_posts_with_one_title_both_succeed() -> None:
    """The second writer's INSERT waits on the first's uncommitted row, fails, and takes the next slug.

    Two real connections, one per thread: the first creates its post and holds its transaction open
    until PostgreSQL shows the second blocked on the slug's unique index, then commits. A
    check-then-insert would have let the second through its check and failed with an IntegrityError.
    """
    if connection.vendor != "postgresql":
        pytest.skip("the race needs a server that blocks on a uncommitted unique key")
    author = UserFactory.create()
    first_inserted = threading.Event()
    slugs: dict[str, str] = {}
    errors: list[BaseException] = []

    def write(name: str, hold: bool) -> None:
        try:
            with transaction.atomic():
                slugs[name] = post_create(author=author, title="One title", body=name).slug
                if hold:
                    first_inserted.set()
                    wait_for(blocked_on_a_lock, timeout=20)
        except BaseException as error:  # reported by the main thread
            errors.append(error)
            first_inserted.set()
        finally:
            connections.close_all()

    first = threading.Thread(target=write, args=("first", True))
    first.start()
    assert first_inserted.wait(timeout=20)
    second = threading.Thread(target=write, args=("second", False))
    second.start()
    first.join(timeout=30)
    second.join(timeout=30)
    assert errors == []
    assert slugs == {"first": "one-title", "second": "one-title-2"}
    assert sorted(Post.objects.values_list("slug", flat=True)) == ["one-title", "one-title-2"]


def blocked_on_a_lock() -> bool:
    """Whether some session of this test database waits on a lock (the second writer's INSERT)."""
    with connections["default"].cursor() as cursor:
        # pg_stat_activity is read once per transaction, and the caller is inside one: read it anew.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        row = cursor.fetchone()
    return bool(row and row[0])


def test_publishing_through_post_update_sets_the_date_once_and_only_for_author_or_staff() -> None:
    draft = PostFactory.create(draft=True)
    with pytest.raises(NotPermitted, match="Only the author or staff may edit this post"):
        post_update(post=draft, by=UserFactory.create(), publish=True)
    post_update(post=draft, by=draft.author, publish=True)
    draft.refresh_from_db()
    published_at = draft.published_at
    assert draft.status == Post.Status.PUBLISHED and published_at is not None
    post_update(post=draft, by=StaffFactory.create(), publish=True)
    draft.refresh_from_db()
    assert draft.published_at == published_at


def test_comment_create_strips_text_and_refuses_drafts(
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    post = PostFactory.create()
    reader = UserFactory.create()
    with django_capture_on_commit_callbacks() as callbacks:
        comment = comment_create(post=post, author=reader, body="  Nice.  ")
    assert comment.body == "Nice."
    assert len(callbacks) == 1  # the author's notification is enqueued after commit, once
    with pytest.raises(Conflict, match="published posts only"):
        comment_create(post=PostFactory.create(draft=True), author=reader, body="Hi")
    assert Comment.objects.count() == 1


@pytest.mark.parametrize(
    ("write", "message"),
    [
        (lambda post, comment, by: services.post_delete(post=post, by=by), "delete this post"),
        (lambda post, comment, by: services.comment_update(comment=comment, by=by, body="x"), "edit this comment"),
        (lambda post, comment, by: services.comment_delete(comment=comment, by=by), "delete this comment"),
        (lambda post, comment, by: services.tag_create(name="new", by=by), "Only staff may create tags"),
    ],
)
def test_a_stranger_is_refused_and_nothing_changes(write: Any, message: str) -> None:
    comment = CommentFactory.create()
    stranger: User = UserFactory.create()
    with pytest.raises(NotPermitted, match=message):
        write(comment.post, comment, stranger)
    assert Comment.objects.filter(pk=comment.pk, body=comment.body).exists()
    assert Post.objects.filter(pk=comment.post_id).exists()


def test_owner_and_staff_may_change_a_comment() -> None:
    comment = CommentFactory.create()
    services.comment_update(comment=comment, by=comment.author, body="  By its author. ")
    services.comment_update(comment=comment, by=StaffFactory.create(), body="By staff.")
    comment.refresh_from_db()
    assert comment.body == "By staff."
