"""factory_boy factories for the blog's models."""

from __future__ import annotations

import factory
from django.db import connection
from django.utils import timezone

from blog.models import Comment, Post, Tag
from users.models import User
from users.tests.factories import UserFactory


class TagFactory(factory.django.DjangoModelFactory[Tag]):
    class Meta:
        model = Tag
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"tag{n}")
    slug = factory.LazyAttribute(lambda tag: tag.name)


class PostFactory(factory.django.DjangoModelFactory[Post]):
    """A published post by a new author, unless told otherwise."""

    class Meta:
        model = Post
        skip_postgeneration_save = True

    author = factory.SubFactory(UserFactory)
    title = factory.Sequence(lambda n: f"Post number {n}")
    slug = factory.Sequence(lambda n: f"post-number-{n}")
    body = "A body long enough to read."
    status = Post.Status.PUBLISHED
    published_at = factory.LazyFunction(timezone.now)

    class Params:
        draft = factory.Trait(status=Post.Status.DRAFT, published_at=None)

    @factory.post_generation
    def tags(self, create: bool, extracted: list[Tag] | None, **kwargs: object) -> None:
        if create and extracted:
            self.tags.set(extracted)


class CommentFactory(factory.django.DjangoModelFactory[Comment]):
    class Meta:
        model = Comment

    post = factory.SubFactory(PostFactory)
    author = factory.SubFactory(UserFactory)
    body = factory.Sequence(lambda n: f"Comment number {n}")


def generate_posts(count: int, *, author: User | None = None, title: str = "Generated post") -> User:
    """Insert ``count`` posts with one set-based statement (PostgreSQL), then ANALYZE the table.

    Factories make one INSERT per row; tests that need the planner to see a big table (plans,
    approximate counts) need thousands. One post in ten is a draft; titles end in their number.
    """
    author = author or UserFactory.create()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO blog_post (author_id, title, slug, body, status, published_at, created_at, updated_at)
            SELECT %(author)s, %(title)s || ' ' || g, 'generated-' || %(author)s || '-' || g, 'Body.',
                   CASE WHEN g %% 10 = 0 THEN 'draft' ELSE 'published' END,
                   CASE WHEN g %% 10 = 0 THEN NULL ELSE now() - make_interval(mins => g) END, now(), now()
            FROM generate_series(1, %(count)s) AS g
            """,
            {"author": author.pk, "title": title, "count": count},
        )
        cursor.execute("ANALYZE blog_post")
    return author
