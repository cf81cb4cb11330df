"""factory_boy factories for the blog's models."""

from __future__ import annotations

import factory
from django.utils import timezone

from blog.models import Comment, Post, Tag
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
