"""The project's ModelAdmin renders the rows Django renders, by a cheaper path."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib import admin
from django.contrib.admin.templatetags.admin_list import items_for_result
from django.contrib.admin.views.main import ChangeList as DjangoChangeList
from django.db.models import Model
from django.test import RequestFactory
from django.urls import resolve, reverse

from blog.models import Comment, Post
from blog.tests.factories import CommentFactory, PostFactory
from project.admin import ChangeList
from project.models import KilledQuery
from project.tests.factories import KilledQueryFactory
from users.models import User
from users.tests.factories import StaffFactory

pytestmark = pytest.mark.django_db


def rendered_rows(model_admin: admin.ModelAdmin[Any], path: str, params: dict[str, str], user: User) -> list[list[str]]:
    request = RequestFactory().get(path, params)
    request.user = user
    request.resolver_match = resolve(path)
    changelist = model_admin.get_changelist_instance(request)
    changelist.formset = None
    return [[str(cell) for cell in items_for_result(changelist, row, None)] for row in changelist.result_list]


@pytest.mark.parametrize(
    ("model", "params"),
    [
        (Post, {}),
        (Post, {"status__exact": "draft", "q": "post"}),  # filters carried into each row's link
        (Comment, {"o": "-1"}),
        (User, {"is_staff__exact": "1"}),  # boolean icons
        (User, {"_popup": "1", "_to_field": "id"}),  # the raw-id lookup window: links carry data-popup-opener
        (KilledQuery, {}),  # no action checkbox: the admin allows no deletes
    ],
)
def test_changelist_rows_are_the_html_django_renders(model: type[Model], params: dict[str, str]) -> None:
    staff, _ = StaffFactory.create_batch(2)
    for draft in (True, True, False):
        CommentFactory.create(post=PostFactory.create(draft=draft, title="A post <b>escaped</b>"))
    KilledQueryFactory.create_batch(2)
    ours = admin.site._registry[model]

    class Stock(type(ours)):  # type: ignore[misc]
        """The same admin with Django's ChangeList and action checkbox."""

        def get_changelist(self, request: Any, **kwargs: Any) -> type[DjangoChangeList]:
            return DjangoChangeList

        action_checkbox = admin.ModelAdmin.action_checkbox

    path = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    assert ours.get_changelist(RequestFactory().get(path)) is ChangeList
    expected = rendered_rows(Stock(model, admin.site), path, params, staff)
    assert len(expected) >= 2
    assert rendered_rows(ours, path, params, staff) == expected
