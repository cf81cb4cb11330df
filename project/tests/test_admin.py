"""The project's ModelAdmin: Django's own rendering, and headers that sort only as an index serves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.contrib import admin
from django.db import models
from django.test import Client, RequestFactory
from django.urls import resolve, reverse
from django.utils import translation
from django.utils.translation import templatize

from blog.models import Comment, Post, Tag
from blog.tests.factories import PostFactory, generate_posts
from project.admin import ChangeList, ModelAdmin, index_served_orderings
from project.querykiller.models import KilledQuery
from users.models import User
from users.tests.factories import StaffFactory

pytestmark = pytest.mark.django_db

DJANGO_ADMIN_TEMPLATES = Path(admin.__file__).parent / "templates"
PROJECT_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def changelist(model: type[models.Model], params: dict[str, str]) -> ChangeList:
    model_admin = admin.site.get_model_admin(model)
    path = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    request = RequestFactory().get(path, params)
    request.user = StaffFactory.create(is_superuser=True)
    request.resolver_match = resolve(path)
    cl = model_admin.get_changelist_instance(request)
    assert isinstance(cl, ChangeList)
    return cl


def test_every_project_admin_is_rendered_by_djangos_own_changelist_templates(client: Client) -> None:
    client.force_login(StaffFactory.create(is_superuser=True))
    post = PostFactory.create(title="Rendered by Django")
    response = client.get(reverse("admin:blog_post_changelist"), {"status__exact": "published"})
    assert response.status_code == 200
    origins = {t.name: Path(t.origin.name) for t in response.templates if t.origin and t.name}
    for name in ("admin/change_list.html", "admin/change_list_results.html", "admin/actions.html"):
        assert origins[name].is_relative_to(DJANGO_ADMIN_TEMPLATES), name
    # The project overrides only the two templates that say "about" for an estimated count.
    overridden = {name for name, origin in origins.items() if origin.is_relative_to(PROJECT_TEMPLATES)}
    assert overridden <= {"admin/pagination.html", "admin/search_form.html", "admin/base_site.html"}
    page = response.content.decode()
    # Django's row link, carrying the changelist's filters, and Django's action checkbox.
    change = reverse("admin:blog_post_change", args=[post.pk])
    assert f'<a href="{change}?_changelist_filters=status__exact%3Dpublished">Rendered by Django</a>' in page
    assert f'<input type="checkbox" name="_selected_action" value="{post.pk}" class="action-select"' in page
    # Preserved filters reach the add link too (the old render path blanked them).
    assert f'href="{reverse("admin:blog_post_add")}?_changelist_filters=status__exact%3Dpublished"' in page


@pytest.mark.parametrize(
    ("model", "sortable"),
    [
        (Post, ("published_at",)),  # post_admin_published_idx; not the title, author, status or updated_at
        (Comment, ("id",)),  # the primary key; created_at leads no index of its own
        (Tag, ("name", "slug")),  # both unique
        (User, ("username",)),  # unique; email's index is on UPPER(email), date_joined has none
        (KilledQuery, ("killed_at",)),  # killedquery_newest_idx: (-killed_at, -id)
    ],
)
def test_headers_sort_only_by_columns_an_index_serves(model: type[models.Model], sortable: tuple[str, ...]) -> None:
    request = RequestFactory().get("/")
    request.user = StaffFactory.create(is_superuser=True)
    assert tuple(admin.site.get_model_admin(model).get_sortable_by(request)) == sortable


def test_every_project_admin_derives_its_sortable_columns_unless_it_declares_them() -> None:
    request = RequestFactory().get("/")
    request.user = StaffFactory.create(is_superuser=True)
    for model in apps.get_models():
        if admin.site.is_registered(model) and model._meta.app_label in {"blog", "users", "querykiller"}:
            model_admin = admin.site.get_model_admin(model)
            assert isinstance(model_admin, ModelAdmin), model
            served = index_served_orderings(model)
            for name in model_admin.get_sortable_by(request):
                assert model_admin.ordering_field_name(name) in served, (model, name)


def test_a_declared_sortable_by_wins_over_the_derived_one() -> None:
    class Declared(ModelAdmin):
        list_display = ("title", "published_at")
        sortable_by = ("title",)

    request = RequestFactory().get("/")
    assert Declared(Post, admin.site).get_sortable_by(request) == ("title",)


@pytest.mark.parametrize(
    ("order", "ordering"),
    [
        ("4", ["published_at", "pk"]),  # list_display[4] is published_at
        ("-4", ["-published_at", "-pk"]),  # ties broken the same way, so one index serves both
        ("1.-4", ["-published_at", "-pk"]),  # an unsortable column is dropped from a multi-column sort
    ],
)
def test_a_sort_breaks_ties_by_the_key_in_its_own_direction(order: str, ordering: list[str]) -> None:
    cl = changelist(Post, {"o": order})
    assert list(cl.queryset.query.order_by) == ordering


def test_a_hand_typed_unsortable_column_is_dropped_not_sorted_by() -> None:
    cl = changelist(Post, {"o": "1"})  # the title: no index sorts it
    assert "o" not in cl.params  # nor in the headers' links
    assert cl.queryset.query.order_by == changelist(Post, {}).queryset.query.order_by
    assert cl.get_ordering_field_columns() == {}


def test_the_changelist_reads_only_the_list_only_columns() -> None:
    cl = changelist(Post, {})
    deferred, _ = cl.queryset.query.deferred_loading
    assert set(deferred) == {"title", "status", "published_at", "updated_at", "author__username"}


def test_about_n_is_marked_for_translation_in_both_templates() -> None:
    # What makemessages extracts: the "about" phrases are in gettext calls, not literal text.
    for name, message in [
        ("pagination.html", "about %(total)s %(name)s"),
        ("search_form.html", "about %(total)s result"),
    ]:
        extracted = templatize((PROJECT_TEMPLATES / "admin" / name).read_text())
        assert f"ngettext(u'{message}'" in extracted, extracted


def test_about_n_groups_digits_as_the_language_does(client: Client) -> None:
    client.force_login(StaffFactory.create())
    generate_posts(2_000)  # analysed: an estimate
    with translation.override("de"):
        page = client.get(reverse("admin:blog_post_changelist"), HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "about 2.000 posts" in page or "about 2.000 Beiträge" in page, page[-2000:]


def test_a_later_page_link_is_offered_and_serves_the_next_rows(client: Client) -> None:
    client.force_login(StaffFactory.create())
    generate_posts(120)
    url = reverse("admin:blog_post_changelist")
    first: Any = client.get(url).context["cl"]
    second: Any = client.get(url, {"p": "2"}).context["cl"]
    assert 'href="?p=2"' in client.get(url).content.decode()
    assert {p.pk for p in first.result_list}.isdisjoint(p.pk for p in second.result_list)
