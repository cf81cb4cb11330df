"""The admin's navigation sidebar, rendered once per app list, page and language.

Django renders the sidebar (``admin/nav_sidebar.html``, which includes ``admin/app_list.html``)
on every admin page: a loop over every registered model, with translations and URL checks per
model, about a tenth of a changelist page's time. Its HTML is a function of the user's app list,
the page's path and the language alone, so ``project_nav_sidebar`` keeps what it rendered and
hands it out again for the same three. ``project/templates/admin/change_list.html`` uses it.

Only Django's own two templates are memoised: if a project overrides either (and so may read
anything else from the context), the sidebar is rendered on every request, as Django does.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import django.contrib.admin
from django import template
from django.template.base import Template
from django.template.context import Context
from django.utils import translation
from django.utils.safestring import SafeString

register = template.Library()

_DJANGO_ADMIN_TEMPLATES = Path(django.contrib.admin.__file__).parent / "templates"
_MEMO_LIMIT = 256  # sidebars kept before the memo starts over: users' app lists x changelists x languages
_rendered: dict[tuple[Any, ...], SafeString] = {}


@functools.lru_cache(maxsize=16)
def _is_djangos(template: Template) -> bool:
    # Keyed by the Template object: the cached loader hands out one per file (a new one after a
    # reload in development).
    return Path(template.origin.name).is_relative_to(_DJANGO_ADMIN_TEMPLATES)


def _app_list_key(apps: list[dict[str, Any]]) -> tuple[Any, ...]:
    """What ``admin/app_list.html`` reads of each app and model, as a key."""
    return tuple(
        (
            app["app_label"],
            app["app_url"],
            str(app["name"]),
            tuple(
                (
                    model["object_name"],
                    model.get("admin_url"),
                    str(model["name"]),
                    model.get("add_url"),
                    model.get("view_only"),
                )
                for model in app["models"]
            ),
        )
        for app in apps
    )


@register.simple_tag(takes_context=True)
def project_nav_sidebar(context: Context) -> SafeString:
    """``{% include "admin/nav_sidebar.html" %}``, memoised while the templates are Django's."""
    engine = context.template.engine  # type: ignore[union-attr]  # set while a template renders
    sidebar = engine.get_template("admin/nav_sidebar.html")
    if not (
        _is_djangos(sidebar)
        and _is_djangos(engine.get_template("admin/app_list.html"))
        and "request" in context
        and "available_apps" in context  # an AdminSite.each_context() of its own may leave it out
    ):
        return sidebar.render(context)
    key = (translation.get_language(), context["request"].path, _app_list_key(context["available_apps"]))
    html = _rendered.get(key)
    if html is None:
        if len(_rendered) >= _MEMO_LIMIT:
            _rendered.clear()
        html = _rendered[key] = sidebar.render(context)
    return html
