"""Background work for the blog, run by the Celery worker."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail

from blog.models import Comment


# Not idempotent (it sends mail): a worker that died mid-task may have sent it, so the task is not
# put back on the queue then (reject_on_worker_lost off), at the cost of a possibly lost e-mail.
@shared_task(name="blog.notify_author_of_comment", ignore_result=True, acks_late=True, reject_on_worker_lost=False)
def notify_author_of_comment(comment_id: int) -> bool:
    """E-mail a post's author that someone commented; skip their own comments and missing addresses."""
    comment = Comment.objects.select_related("post__author", "author").filter(pk=comment_id).first()
    if comment is None:
        return False  # deleted before the worker got to it
    author = comment.post.author
    if not author.email or author.pk == comment.author_id:
        return False
    send_mail(
        subject=f"New comment on “{comment.post.title}”",
        message=f"{comment.author.username} wrote:\n\n{comment.body}\n\n{comment.post.get_absolute_url()}",
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[author.email],
    )
    return True
