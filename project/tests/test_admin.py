"""The project's ModelAdmin renders the rows Django renders, by a cheaper path."""

from __future__ import annotations

import datetime
import zoneinfo
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.admin.templatetags import admin_list
from django.contrib.admin.views.main import ChangeList as DjangoChangeList
from django.db.models import Model
from django.template import Context, Engine
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.urls import resolve, reverse
from django.utils import dateformat, timezone, translation
from django.utils.formats import get_format

from blog.models import Comment, Post, Tag
from blog.tests.factories import CommentFactory, PostFactory, TagFactory
from project.admin import ChangeList, ModelAdmin
from project.querykiller.models import KilledQuery
from project.querykiller.tests.factories import KilledQueryFactory
from project.templatetags import project_admin_list
from users.models import User
from users.tests.factories import StaffFactory

pytestmark = pytest.mark.django_db

Rows = Callable[[Any], Iterator[Any]]

# Django's own admin templates, without the project's overrides.
DJANGO_ADMIN_TEMPLATES = Engine(
    dirs=[str(Path(admin.__file__).parent / "templates")], libraries={"i18n": "django.templatetags.i18n"}
)


def changelist_for(model_admin: admin.ModelAdmin[Any], params: dict[str, str], user: User) -> DjangoChangeList:
    path = reverse(f"admin:{model_admin.opts.app_label}_{model_admin.opts.model_name}_changelist")
    request = RequestFactory().get(path, params)
    request.user = user
    request.resolver_match = resolve(path)
    changelist = model_admin.get_changelist_instance(request)
    changelist.formset = None
    return changelist


def rendered_rows(
    model_admin: admin.ModelAdmin[Any], params: dict[str, str], user: User, rows: Rows
) -> list[list[str]]:
    return [[str(cell) for cell in row] for row in rows(changelist_for(model_admin, params, user))]


class _StockRows:
    """Django's own ChangeList and action checkbox on an admin class."""

    def get_changelist(self, request: Any, **kwargs: Any) -> type[DjangoChangeList]:
        return DjangoChangeList

    action_checkbox = admin.ModelAdmin.action_checkbox


@pytest.mark.parametrize(
    ("model", "params"),
    [
        (Post, {}),
        (Post, {"status__exact": "draft", "q": "post"}),  # filters carried into each row's link
        (Comment, {"o": "-1"}),
        (Tag, {}),
        (User, {"is_staff__exact": "1"}),  # boolean icons
        (User, {"_popup": "1", "_to_field": "id"}),  # the raw-id lookup window: links carry data-popup-opener
        (KilledQuery, {}),  # no action checkbox: the admin allows no deletes
    ],
)
def test_changelist_rows_are_the_html_django_renders(model: type[Model], params: dict[str, str]) -> None:
    staff, _ = StaffFactory.create_batch(2)
    for draft in (True, True, False):
        CommentFactory.create(post=PostFactory.create(draft=draft, title="A post <b>escaped</b>"))
    TagFactory.create_batch(2)
    KilledQueryFactory.create_batch(2)
    ours = admin.site._registry[model]
    stock = type("Stock", (_StockRows, type(ours)), {})(model, admin.site)
    assert ours.get_changelist(RequestFactory().get("/")) is ChangeList
    expected = rendered_rows(stock, params, staff, admin_list.results)
    assert len(expected) >= 2
    assert rendered_rows(ours, params, staff, project_admin_list.results) == expected
    # Django's row code on the project's ChangeList renders the same too.
    assert rendered_rows(ours, params, staff, admin_list.results) == expected


@pytest.mark.parametrize(("model", "params"), [(Post, {"status__exact": "draft"}), (User, {"is_staff__exact": "1"})])
def test_the_result_table_is_the_html_django_renders(model: type[Model], params: dict[str, str]) -> None:
    # The project's template writes each row's joined cells; the table is the one Django's own
    # template writes from Django's rows. (Django's rows through the project's template too.)
    staff, *_ = StaffFactory.create_batch(3)
    PostFactory.create_batch(3, draft=True)
    ours = admin.site._registry[model]
    stock = type("Stock", (_StockRows, type(ours)), {})(model, admin.site)
    djangos_context = admin_list.result_list(changelist_for(stock, params, staff))
    expected = DJANGO_ADMIN_TEMPLATES.get_template("admin/change_list_results.html").render(Context(djangos_context))
    assert expected.count("<tr>") >= 4
    ours_context = project_admin_list.result_list(changelist_for(ours, params, staff))
    assert ours_context["rows"]
    assert render_to_string("admin/change_list_results.html", ours_context) == expected
    assert render_to_string("admin/change_list_results.html", djangos_context) == expected


class _Extras(ModelAdmin):
    @admin.display(boolean=True, description="published?")
    def live(self, obj: Post) -> bool:
        return obj.is_published

    @admin.display(empty_value="never")
    def published(self, obj: Post) -> Any:
        return obj.published_at


def test_rows_match_django_for_callables_links_and_empty_values() -> None:
    staff = StaffFactory.create()
    PostFactory.create(title="  ")
    PostFactory.create(draft=True)

    class Ours(_Extras):
        list_display = ("id", "title", "live", "published", "__str__", "author_id", "author", "created_at")
        list_display_links: Any = ("title", "published")

    class Stock(_StockRows, Ours):
        pass

    for links in (("title", "published"), (), None):
        Ours.list_display_links = links
        expected = rendered_rows(Stock(Post, admin.site), {}, staff, admin_list.results)
        assert rendered_rows(Ours(Post, admin.site), {}, staff, project_admin_list.results) == expected


@pytest.mark.parametrize(
    ("language", "zone", "translated"),
    [("de", "Asia/Kolkata", "für eine Aktion"), ("fr", "America/St_Johns", "pour une action")],
)
def test_rows_match_django_in_another_language_and_time_zone(language: str, zone: str, translated: str) -> None:
    # Choice labels and date formats are worked out once per page: in the request's language and
    # zone, as Django's per-cell code would. (Half-hour offsets move a date-time across midnight.)
    staff = StaffFactory.create()
    PostFactory.create(title="Entwurf & <Test>", draft=True)
    PostFactory.create(title="Publié")
    ours = admin.site._registry[Post]
    stock = type("Stock", (_StockRows, type(ours)), {})(Post, admin.site)
    with translation.override(language), timezone.override(zoneinfo.ZoneInfo(zone)):
        expected = rendered_rows(stock, {}, staff, admin_list.results)
        assert rendered_rows(ours, {}, staff, project_admin_list.results) == expected
    assert any(translated in cell for row in expected for cell in row)


def test_the_changelist_page_renders_its_rows_through_the_project_tag(client: Client) -> None:
    client.force_login(StaffFactory.create(is_superuser=True))
    post = PostFactory.create(title="Rendered by the project tag")
    response = client.get(reverse("admin:blog_post_changelist"), {"status__exact": "published"})
    assert response.status_code == 200
    assert "admin/change_list_results.html" in [t.name for t in response.templates]
    change = reverse("admin:blog_post_change", args=[post.pk])
    assert f'<th class="field-title"><a href="{change}?_changelist_filters=status__exact%3Dpublished">' in (
        response.content.decode()
    )


@pytest.mark.django_db(databases=[])
@pytest.mark.parametrize("language", ["en", "de", "fr", "ja"])
def test_the_memoised_datetime_format_is_djangos_in_every_language(language: str) -> None:
    # Every minute of a day and every day of a leap year, through each language's own formats and
    # one with every memoised character and an escaped one: the same text as Django's, piece by piece.
    start = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
    values = [start + datetime.timedelta(minutes=m) for m in range(24 * 60)]
    values += [start + datetime.timedelta(days=d, hours=12) for d in range(366)]
    with translation.override(language):
        formats = [
            get_format("DATETIME_FORMAT"),
            get_format("SHORT_DATETIME_FORMAT"),
            r"bdDEFjlLmMnNoStwWyYz \a\t aAfgGhHiP",
        ]
        for datetime_format in formats:
            format_datetime = project_admin_list._datetime_formatter(datetime_format)
            assert [format_datetime(v) for v in values] == [dateformat.format(v, datetime_format) for v in values]


@pytest.mark.django_db(databases=[])
def test_a_datetime_format_reading_the_zone_or_seconds_is_formatted_per_value() -> None:
    value = datetime.datetime(2024, 3, 31, 1, 59, 58, tzinfo=zoneinfo.ZoneInfo("Europe/Berlin"))
    for datetime_format in ("Y-m-d H:i:s", "c", "N j, Y, P T"):
        assert project_admin_list._datetime_formatter(datetime_format)(value) == dateformat.format(
            value, datetime_format
        )
