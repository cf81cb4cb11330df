"""Blog services: creating and publishing posts, adding comments."""

from __future__ import annotations

import pytest
from pytest_django import DjangoCaptureOnCommitCallbacks

from blog.models import Comment, Post
from blog.services import comment_create, post_create, post_publish, unique_post_slug
from blog.tests.factories import PostFactory, TagFactory
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


def test_unique_post_slug_falls_back_for_titles_without_letters() -> None:
    assert unique_post_slug("!!!") == "post"


def test_post_publish_sets_the_date_once_and_only_for_author_or_staff() -> None:
    draft = PostFactory.create(draft=True)
    with pytest.raises(PermissionError):
        post_publish(post=draft, by=UserFactory.create())
    post_publish(post=draft, by=draft.author)
    draft.refresh_from_db()
    published_at = draft.published_at
    assert draft.status == Post.Status.PUBLISHED and published_at is not None
    post_publish(post=draft, by=StaffFactory.create())
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
    with pytest.raises(ValueError, match="published posts only"):
        comment_create(post=PostFactory.create(draft=True), author=reader, body="Hi")
    assert Comment.objects.count() == 1
