"""The blog's admin deletes through the services: one ownership rule, whichever way in."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib import admin
from django.db.models import Model
from django.test import Client, RequestFactory
from django.urls import reverse

from blog.models import Comment, Post, Tag
from blog.tests.factories import CommentFactory, PostFactory, TagFactory
from project.exceptions import NotPermitted
from users.tests.factories import StaffFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_the_delete_selected_action_deletes_each_post_with_its_comments(client: Client) -> None:
    client.force_login(StaffFactory.create(is_superuser=True))
    doomed, kept = PostFactory.create_batch(2)
    CommentFactory.create(post=doomed)
    response = client.post(
        reverse("admin:blog_post_changelist"),
        {"action": "delete_selected", "_selected_action": [doomed.pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert list(Post.objects.all()) == [kept]
    assert not Comment.objects.filter(post_id=doomed.pk).exists()


def test_the_delete_page_deletes_a_tag(client: Client) -> None:
    client.force_login(StaffFactory.create(is_superuser=True))
    tag = TagFactory.create(name="gone")
    response = client.post(reverse("admin:blog_tag_delete", args=[tag.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not Tag.objects.filter(pk=tag.pk).exists()


@pytest.mark.parametrize(
    ("model", "make"),
    [(Post, PostFactory.create), (Comment, CommentFactory.create), (Tag, TagFactory.create)],
)
def test_admin_deletes_run_the_services_permission_check(model: type[Model], make: Callable[[], Model]) -> None:
    obj = make()
    request = RequestFactory().post("/")
    request.user = UserFactory.create()  # not staff: only the service's own check can refuse
    with pytest.raises(NotPermitted):
        admin.site.get_model_admin(model).delete_model(request, obj)
    obj.refresh_from_db()  # still there (DoesNotExist otherwise)
