"""Background tasks, run by a real Celery worker on the Redis broker."""

from __future__ import annotations

import pytest
from django.core import mail

from blog.services import comment_create
from blog.tests.factories import PostFactory
from tests.support import wait_for
from users.tests.factories import UserFactory


@pytest.mark.django_db(transaction=True)
def test_a_new_comment_emails_the_post_author_through_the_worker(celery_worker: None) -> None:
    post = PostFactory.create(author=UserFactory.create(email="author@example.com"))
    comment_create(post=post, author=UserFactory.create(username="reader"), body="Lovely post.")
    wait_for(lambda: len(mail.outbox) == 1)
    assert mail.outbox[0].to == ["author@example.com"]
    assert "reader wrote" in mail.outbox[0].body
    assert "Lovely post." in mail.outbox[0].body


@pytest.mark.django_db
def test_no_email_for_own_comments_missing_addresses_or_deleted_comments() -> None:
    from blog.models import Comment
    from blog.tasks import notify_author_of_comment

    post = PostFactory.create(author=UserFactory.create(email="author@example.com"))
    own = Comment.objects.create(post=post, author=post.author, body="Replying to everyone.")
    no_address = Comment.objects.create(
        post=PostFactory.create(author=UserFactory.create(email="")), author=UserFactory.create(), body="Hi"
    )
    assert notify_author_of_comment(own.pk) is False
    assert notify_author_of_comment(no_address.pk) is False
    assert notify_author_of_comment(10**9) is False
    assert mail.outbox == []
