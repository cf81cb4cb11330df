"""The admin sidebar on changelists: Django's HTML, memoised per app list, page and language."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.template import engines
from django.template.loader import render_to_string
from django.test import Client, RequestFactory, override_settings
from django.urls import reverse
from django.utils import translation

from project.templatetags import project_admin_nav
from users.models import User
from users.tests.factories import StaffFactory

pytestmark = pytest.mark.django_db

POSTS = reverse("admin:blog_post_changelist")
COMMENTS = reverse("admin:blog_comment_changelist")


@pytest.fixture(autouse=True)
def _empty_memo() -> None:
    project_admin_nav._rendered.clear()


def page_and_djangos_sidebar(client: Client, url: str) -> tuple[str, str]:
    """The changelist page, and the sidebar Django's ``{% include %}`` in admin/base.html writes for it."""
    response = client.get(url)
    assert response.status_code == 200
    sidebar = render_to_string(
        "admin/nav_sidebar.html",
        {"available_apps": response.context["available_apps"], "request": response.wsgi_request},
    )
    return response.content.decode(), f"\n          {sidebar}\n        "


def test_the_sidebar_is_djangos_and_rendered_once_per_page_and_app_list(client: Client) -> None:
    client.force_login(StaffFactory.create(is_superuser=True))
    for url in (POSTS, POSTS, COMMENTS):
        page, sidebar = page_and_djangos_sidebar(client, url)
        assert sidebar in page
        assert 'id="nav-sidebar"' in sidebar
    # The two changelists mark a different model as the current one: one memo entry each.
    assert len(project_admin_nav._rendered) == 2
    assert 'class="model-post current-model"' in page_and_djangos_sidebar(client, POSTS)[1]
    assert 'class="model-comment current-model"' in page_and_djangos_sidebar(client, COMMENTS)[1]


def test_each_user_sees_the_models_they_may_use(client: Client) -> None:
    editor = StaffFactory.create(is_superuser=False)
    editor.user_permissions.add(Permission.objects.get(codename="view_post"))
    client.force_login(StaffFactory.create(is_superuser=True))
    assert 'href="/admin/blog/post/add/"' in client.get(POSTS).content.decode()
    client.force_login(User.objects.get(pk=editor.pk))
    page, sidebar = page_and_djangos_sidebar(client, POSTS)
    assert sidebar in page
    assert 'href="/admin/blog/post/add/"' not in page  # no add permission: no add link
    assert "/admin/blog/comment/" not in sidebar
    assert len(project_admin_nav._rendered) == 2


def test_each_language_gets_its_own_sidebar(client: Client) -> None:
    client.force_login(StaffFactory.create(is_superuser=True))
    with translation.override("de"):
        page, sidebar = page_and_djangos_sidebar(client, POSTS)
    assert sidebar in page and "Hinzufügen" in sidebar
    page, sidebar = page_and_djangos_sidebar(client, POSTS)
    assert sidebar in page and "Hinzufügen" not in sidebar


def test_an_overridden_app_list_is_rendered_on_every_request(client: Client, tmp_path: Path) -> None:
    # A project's own app_list.html may read anything (here the user): no memo for it.
    (tmp_path / "admin").mkdir()
    (tmp_path / "admin" / "app_list.html").write_text("<p>menu for {{ user.get_username }}</p>")
    templates = copy.deepcopy(settings.TEMPLATES)
    templates[0]["DIRS"] = [tmp_path, settings.BASE_DIR / "project" / "templates"]
    with override_settings(TEMPLATES=templates):
        for name in ("first-admin", "second-admin"):
            client.force_login(StaffFactory.create(username=name, is_superuser=True))
            assert f"<p>menu for {name}</p>" in client.get(POSTS).content.decode()
    assert project_admin_nav._rendered == {}


def test_a_context_without_the_app_list_is_rendered_as_django_would(rf: RequestFactory) -> None:
    # An AdminSite.each_context() of a project's own may leave available_apps out: no key, no memo.
    engine = engines["django"]
    context = {"request": rf.get(POSTS)}
    expected = engine.from_string('{% include "admin/nav_sidebar.html" %}').render(context)
    assert "permission" in expected  # Django's "You don't have permission to view or edit anything."
    assert engine.from_string("{% load project_admin_nav %}{% project_nav_sidebar %}").render(context) == expected
    assert project_admin_nav._rendered == {}
