"""The blog's QuerySet methods and database constraints."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import IntegrityError
from django.db.models import prefetch_related_objects
from django.utils import timezone

from blog import services
from blog.models import Post, PostTag, sync_listed_since
from blog.tests.factories import CommentFactory, PostFactory, TagFactory
from users.tests.factories import StaffFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_published_keeps_published_posts_whose_date_has_come() -> None:
    live = PostFactory.create()
    PostFactory.create(draft=True)
    PostFactory.create(published_at=timezone.now() + timedelta(days=1))  # scheduled
    assert list(Post.objects.published()) == [live]


def test_visible_to_shows_own_drafts_and_staff_sees_all() -> None:
    live = PostFactory.create()
    draft = PostFactory.create(draft=True)
    other = UserFactory.create()
    from django.contrib.auth.models import AnonymousUser

    assert set(Post.objects.visible_to(AnonymousUser())) == {live}
    assert set(Post.objects.visible_to(other)) == {live}
    assert set(Post.objects.visible_to(draft.author)) == {live, draft}
    assert set(Post.objects.visible_to(StaffFactory.create())) == {live, draft}


def test_with_comment_counts_counts_each_posts_comments_and_zero_for_none() -> None:
    busy, quiet = PostFactory.create(), PostFactory.create()
    CommentFactory.create_batch(3, post=busy)
    counts = {post.pk: post.comment_count for post in Post.objects.with_comment_counts()}  # type: ignore[attr-defined]
    assert counts == {busy.pk: 3, quiet.pk: 0}


def test_newest_first_breaks_ties_by_id() -> None:
    when = timezone.now()
    first, second = PostFactory.create(published_at=when), PostFactory.create(published_at=when)
    assert list(Post.objects.newest_first()) == [second, first]


def test_a_published_post_must_have_a_date() -> None:
    with pytest.raises(IntegrityError):
        PostFactory.create(status=Post.Status.PUBLISHED, published_at=None)


def test_status_must_be_a_known_value() -> None:
    with pytest.raises(IntegrityError):
        PostFactory.create(status="archived")


def test_slugs_are_unique() -> None:
    PostFactory.create(slug="same")
    with pytest.raises(IntegrityError):
        PostFactory.create(slug="same")


def test_tag_list_is_the_prefetched_tags_or_one_query_in_name_order(django_assert_num_queries: Any) -> None:
    from blog.models import TAGS

    PostFactory.create(tags=[TagFactory.create(name="sql"), TagFactory.create(name="django")])
    post = Post.objects.get()
    with django_assert_num_queries(1):  # not prefetched: the tags, once
        assert [t.name for t in post.tag_list] == ["django", "sql"]
        assert [t.name for t in post.tag_list] == ["django", "sql"]
    posts = list(Post.objects.all())
    with django_assert_num_queries(1):  # every listed post's tags in one query, then none
        prefetch_related_objects(posts, TAGS)
        assert [t.name for t in posts[0].tag_list] == ["django", "sql"]


def test_tag_data_comes_with_the_posts_query_or_from_tag_list(django_assert_num_queries: Any) -> None:
    sql, django = TagFactory.create(name="sql"), TagFactory.create(name="django")
    PostFactory.create(tags=[sql, django])
    PostFactory.create()  # no tags: an empty list, not NULL
    expected = [
        {"id": django.pk, "name": "django", "slug": django.slug},
        {"id": sql.pk, "name": "sql", "slug": sql.slug},
    ]
    with django_assert_num_queries(1):  # PostgreSQL builds the JSON in the posts' query
        tagged, untagged = Post.objects.with_tag_data().order_by("id")
        assert (tagged.tag_data, untagged.tag_data) == (expected, [])
    plain = Post.objects.order_by("id").first()
    assert plain is not None
    with django_assert_num_queries(1):  # not annotated: built from tag_list, one query
        assert plain.tag_data == expected


def listed(post: Post) -> set[Any]:
    return set(PostTag.objects.filter(post=post).values_list("listed_since", flat=True))


def test_tag_links_carry_the_posts_date_while_it_is_published() -> None:
    staff = StaffFactory.create()
    tags = [TagFactory.create(), TagFactory.create()]
    draft = services.post_create(author=staff, title="Draft", body="b", tags=tags, publish=False)
    assert listed(draft) == {None}
    services.post_update(post=draft, by=staff, publish=True)
    assert listed(draft) == {draft.published_at} and draft.published_at is not None
    services.post_update(post=draft, by=staff, publish=False)
    assert listed(draft) == {None}
    live = services.post_create(author=staff, title="Live", body="b", tags=tags[:1], publish=True)
    assert listed(live) == {live.published_at}
    live.published_at = timezone.now() + timedelta(days=1)  # rescheduled, through the admin say
    live.save()
    assert listed(live) == {live.published_at}


def test_links_added_from_either_side_take_the_posts_date() -> None:
    post, draft = PostFactory.create(), PostFactory.create(draft=True)
    tag = TagFactory.create()
    post.tags.add(tag)
    tag.posts.add(draft)
    assert listed(post) == {post.published_at} and listed(draft) == {None}
    PostTag.objects.create(post=draft, tag=TagFactory.create())  # a link saved on its own
    assert listed(draft) == {None}


def test_sync_listed_since_repairs_links_after_a_bulk_update() -> None:
    posts = PostFactory.create_batch(2, tags=[TagFactory.create()])
    Post.objects.filter(pk=posts[0].pk).update(status="draft")  # no save(): the links are stale
    assert listed(posts[0]) == {posts[0].published_at}
    assert sync_listed_since(Post.objects.filter(pk=posts[0].pk)) == 1
    assert listed(posts[0]) == {None} and listed(posts[1]) == {posts[1].published_at}
