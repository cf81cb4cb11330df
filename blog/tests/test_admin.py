"""The blog's admin pages, on the project's ModelAdmin."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.db.models import Model
from django.test import Client
from django.urls import reverse

from blog.models import Comment, Post, Tag
from blog.tests.factories import CommentFactory, PostFactory, TagFactory
from project.admin import ModelAdmin
from users.tests.factories import StaffFactory

pytestmark = pytest.mark.django_db


def test_every_registered_model_uses_the_project_model_admin() -> None:
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label in {"blog", "users", "project"}:
            assert isinstance(model_admin, ModelAdmin), model


def test_foreign_keys_use_raw_id_widgets_never_select_boxes() -> None:
    assert admin.site._registry[Post].raw_id_fields == ("author",)
    assert admin.site._registry[Post].autocomplete_fields == ("tags",)
    assert set(admin.site._registry[Comment].raw_id_fields) == {"post", "author"}


@pytest.mark.parametrize("model", [Post, Comment, Tag])
def test_changelist_add_and_change_pages_load(client: Client, model: type[Model]) -> None:
    client.force_login(StaffFactory.create())
    post = PostFactory.create(tags=[TagFactory.create()])
    CommentFactory.create(post=post)
    obj = model._default_manager.first()
    assert obj is not None
    info = (model._meta.app_label, model._meta.model_name)
    for url in (
        reverse("admin:{}_{}_changelist".format(*info)),
        reverse("admin:{}_{}_add".format(*info)),
        reverse("admin:{}_{}_change".format(*info), args=[obj.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert b'<select name="author"' not in response.content


def test_post_changelist_search_and_filter(client: Client) -> None:
    client.force_login(StaffFactory.create())
    PostFactory.create(title="Indexes explained")
    PostFactory.create(title="Replica lag", draft=True)
    url = reverse("admin:blog_post_changelist")
    assert [p.title for p in client.get(url, {"q": "index"}).context["cl"].result_list] == ["Indexes explained"]
    assert [p.title for p in client.get(url, {"status__exact": "draft"}).context["cl"].result_list] == ["Replica lag"]
