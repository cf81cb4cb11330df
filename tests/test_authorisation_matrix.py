"""Who may do what: every URL pattern x method x role has an expected status, in one table.

The URL patterns are read from the URL configuration itself, so a new URL without an entry in
``EXPECTED`` fails ``test_every_url_pattern_has_an_entry``. Each cell is requested by each role with
fresh data (a savepoint rolled back per role): anonymous, a logged-in ``user``, the ``author`` who
owns the post and comment in the URL, ``staff`` (is_staff, no model permissions) and a
``superuser``. Bodies are empty: the question is who gets past authentication and permissions
(a 400 means "allowed, but say what you want"), not what a valid write does.

To add a URL: add its name (or, unnamed, its route) to ``EXPECTED`` with one status per role for
each method. ``MATRIX_PRINT=1 pytest tests/test_authorisation_matrix.py -k observed -s`` prints what
each role gets now, to compare with what it should get.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.tokens import default_token_generator
from django.contrib.contenttypes.models import ContentType
from django.core.cache import caches
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from blog.models import Comment, Post, Tag
from blog.tests.factories import CommentFactory, PostFactory, TagFactory
from users.models import User
from users.tests.factories import StaffFactory, UserFactory


def registered_models() -> list[Any]:
    """Every model the admin site registers, through its public ``is_registered``."""
    return [model for model in apps.get_models() if admin.site.is_registered(model)]


pytestmark = pytest.mark.django_db(databases=["default", "replica"])

ROLES = ("anonymous", "user", "author", "staff", "superuser")
Row = dict[str, tuple[int, int, int, int, int]]


def same(status: int) -> tuple[int, int, int, int, int]:
    return (status,) * 5


# Django's admin: anonymous and non-staff users are sent to its log-in page; staff without model
# permissions get 403 on a model's pages; the superuser gets the page (or, POSTing an empty form,
# the form again with its errors: 200).
ADMIN_LOGIN = (302, 302)
ADMIN_MODEL_VIEW: Row = {"GET": (*ADMIN_LOGIN, 302, 403, 200), "POST": (*ADMIN_LOGIN, 302, 403, 200)}


def admin_model_rows() -> dict[str, Row]:
    """The same rule for every registered model's changelist, add, change, delete and history."""
    rows: dict[str, Row] = {}
    for model in registered_models():
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        for view in ("changelist", "add", "change", "delete", "history"):
            rows[f"{prefix}_{view}"] = ADMIN_MODEL_VIEW
    # Killed queries are written by the query killer only: nobody adds one by hand.
    rows["admin:querykiller_killedquery_add"] = {
        "GET": (*ADMIN_LOGIN, 302, 403, 403),
        "POST": (*ADMIN_LOGIN, 302, 403, 403),
    }
    return rows


EXPECTED: dict[str, Row] = {
    # --- the site -------------------------------------------------------------------------------
    "blog:home": {"GET": same(200), "POST": same(405)},
    "blog:post": {"GET": same(200), "POST": same(405)},
    # Anonymous: to the log-in page. Logged in with an empty form: the post again, with errors.
    "blog:comment-create": {"GET": (302, 405, 405, 405, 405), "POST": (302, 400, 400, 400, 400)},
    "blog:tag": {"GET": same(200), "POST": same(405)},
    "blog:author": {"GET": same(200), "POST": same(405)},
    "blog:dashboard": {"GET": (302, 200, 200, 200, 200), "POST": (302, 405, 405, 405, 405)},
    # Writing, editing and deleting: anonymous to the log-in page; a post or comment is changed by
    # its author or staff (the superuser is staff), anyone else gets 403. An empty form is 400.
    "blog:post-create": {"GET": (302, 200, 200, 200, 200), "POST": (302, 400, 400, 400, 400)},
    "blog:post-edit": {"GET": (302, 403, 200, 200, 200), "POST": (302, 403, 400, 400, 400)},
    # The POST is the confirmation: it deletes, then redirects to the dashboard.
    "blog:post-delete": {"GET": (302, 403, 200, 200, 200), "POST": (302, 403, 302, 302, 302)},
    "blog:comment-edit": {"GET": (302, 403, 200, 200, 200), "POST": (302, 403, 400, 400, 400)},
    "blog:comment-delete": {"GET": (302, 403, 200, 200, 200), "POST": (302, 403, 302, 302, 302)},
    "blog:search": {"GET": same(200), "POST": same(405)},
    # Feeds are public; Django's Feed view answers any method.
    "blog:feed": {"GET": same(200), "POST": same(200)},
    "blog:feed-rss": {"GET": same(200), "POST": same(200)},
    "blog:tag-feed": {"GET": same(200), "POST": same(200)},
    "blog:author-feed": {"GET": same(200), "POST": same(200)},
    # What crawlers and browsers ask for: public, GET/HEAD only. The favicon redirects to the static icon.
    "blog:sitemap": {"GET": same(200), "POST": same(405)},
    "blog:sitemap-pages": {"GET": same(200), "POST": same(405)},
    "blog:sitemap-posts": {"GET": same(200), "POST": same(405)},
    "blog:robots": {"GET": same(200), "POST": same(405)},
    "blog:favicon": {"GET": same(301), "POST": same(405)},
    "users:signup": {"GET": same(200), "POST": same(200)},
    "users:login": {"GET": (200, 302, 302, 302, 302), "POST": (200, 302, 302, 302, 302)},
    # GET: a logged-in user is asked to confirm, anonymous is sent home. POST logs out.
    "users:logout": {"GET": (302, 200, 200, 200, 200), "POST": same(302)},
    # One's own profile: every field is optional, so an empty form saves and redirects.
    "users:profile": {"GET": (302, 200, 200, 200, 200), "POST": (302, 302, 302, 302, 302)},
    # Password reset is for anyone with the e-mail: an empty form is shown again (200); a valid
    # link redirects to its set-password page, keeping the token out of the URL.
    "users:password_reset": {"GET": same(200), "POST": same(200)},
    "users:password_reset_done": {"GET": same(200), "POST": same(405)},
    "users:password_reset_confirm": {"GET": same(302), "POST": same(302)},
    "users:password_reset_complete": {"GET": same(200), "POST": same(405)},
    # --- the admin ------------------------------------------------------------------------------
    "admin:index": {"GET": (*ADMIN_LOGIN, 302, 200, 200), "POST": (*ADMIN_LOGIN, 302, 200, 200)},
    # An empty log-in form is shown again to everyone; only a staff user's GET skips it.
    "admin:login": {"GET": (200, 200, 200, 302, 302), "POST": same(200)},
    "admin:logout": {"GET": (*ADMIN_LOGIN, 302, 405, 405), "POST": same(302)},
    "admin:password_change": {"GET": (*ADMIN_LOGIN, 302, 200, 200), "POST": (*ADMIN_LOGIN, 302, 200, 200)},
    "admin:password_change_done": {"GET": (*ADMIN_LOGIN, 302, 200, 200), "POST": (*ADMIN_LOGIN, 302, 405, 405)},
    # Without its app_label/model_name/field_name parameters the autocomplete refuses everyone.
    "admin:autocomplete": {"GET": (*ADMIN_LOGIN, 302, 403, 403), "POST": (*ADMIN_LOGIN, 302, 405, 405)},
    "admin:jsi18n": {"GET": (*ADMIN_LOGIN, 302, 200, 200), "POST": (*ADMIN_LOGIN, 302, 405, 405)},
    "admin:view_on_site": {"GET": (*ADMIN_LOGIN, 302, 302, 302), "POST": (*ADMIN_LOGIN, 302, 302, 302)},
    "admin:app_list": {"GET": (*ADMIN_LOGIN, 302, 404, 200), "POST": (*ADMIN_LOGIN, 302, 404, 200)},
    "admin:auth_user_password_change": ADMIN_MODEL_VIEW,  # UserAdmin names it after auth.User
    "admin-performance": {"GET": (*ADMIN_LOGIN, 302, 200, 200), "POST": (*ADMIN_LOGIN, 302, 200, 200)},
    **admin_model_rows(),
    # Unnamed admin routes: an object's bare URL redirects to its change page; the catch-all.
    "admin/<path:object_id>/": {"GET": (*ADMIN_LOGIN, 302, 302, 302), "POST": (*ADMIN_LOGIN, 302, 302, 302)},
    "admin/(?P<url>.*)$": {"GET": (*ADMIN_LOGIN, 302, 404, 404), "POST": (*ADMIN_LOGIN, 302, 404, 404)},
    # --- the API --------------------------------------------------------------------------------
    "api:api-root": {"GET": same(200), "POST": same(405)},
    "api:token": {"GET": same(405), "POST": same(400)},
    "api:logout": {"GET": (401, 405, 405, 405, 405), "POST": (401, 204, 204, 204, 204)},
    "api:stats": {"GET": same(200), "POST": same(405)},
    "api:schema": {"GET": same(200), "POST": same(405)},
    "api:docs": {"GET": same(200), "POST": same(405)},
    "api:redoc": {"GET": same(200), "POST": same(405)},
    "api:redoc-bundle": {"GET": same(200), "POST": same(405)},
    # Writes are JSON only: a logged-in client posting a form body gets 415.
    "api:post-list": {"GET": same(200), "POST": (401, 415, 415, 415, 415)},
    "api:post-detail": {
        "GET": same(200),
        "PUT": (401, 403, 400, 400, 400),
        "PATCH": (401, 403, 200, 200, 200),
        "DELETE": (401, 403, 204, 204, 204),
    },
    # Listing comments needs ?post=: without it everyone gets 400.
    "api:comment-list": {"GET": same(400), "POST": (401, 415, 415, 415, 415)},
    "api:comment-detail": {
        "GET": same(200),
        "PUT": (401, 403, 400, 400, 400),
        "PATCH": (401, 403, 200, 200, 200),
        "DELETE": (401, 403, 204, 204, 204),
    },
    "api:tag-list": {"GET": same(200), "POST": (401, 403, 403, 415, 415)},
    "api:tag-detail": {
        "GET": same(200),
        "PUT": (401, 403, 403, 400, 400),
        "PATCH": (401, 403, 403, 200, 200),
        "DELETE": (401, 403, 403, 204, 204),
    },
    "api:user-me": {"GET": (401, 200, 200, 200, 200), "POST": (401, 405, 405, 405, 405)},
    "api:user-detail": {"GET": same(200), "POST": (401, 405, 405, 405, 405)},
    # --- operations -----------------------------------------------------------------------------
    "healthz": {"GET": same(200), "POST": same(200)},
    "readyz": {"GET": same(200), "POST": same(200)},
    "metrics": {"GET": (403, 403, 403, 200, 200), "POST": (403, 403, 403, 200, 200)},
}


def url_patterns(
    resolver: URLResolver | None = None, prefix: str = "", namespace: str = ""
) -> Iterator[tuple[str, str]]:
    """Yield (key, route) for every pattern: its name with namespace, or its route when unnamed."""
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            inner = namespace + (f"{pattern.namespace}:" if pattern.namespace else "")
            yield from url_patterns(pattern, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            route = prefix + str(pattern.pattern)
            if pattern.name:
                yield namespace + pattern.name, route
            else:
                yield _unnamed_key(route), route


def _unnamed_key(route: str) -> str:
    # admin/<app>/<model>/<path:object_id>/ for every model share one entry.
    if route.endswith("<path:object_id>/"):
        return "admin/<path:object_id>/"
    return route


def test_every_url_pattern_has_an_entry() -> None:
    missing = sorted({key for key, _ in url_patterns()} - set(EXPECTED))
    assert missing == [], f"add these URL patterns to EXPECTED in {__file__}: {missing}"
    stale = sorted(set(EXPECTED) - {key for key, _ in url_patterns()})
    assert stale == [], f"these EXPECTED entries match no URL any more: {stale}"


# --- making each request --------------------------------------------------------------------


def world() -> dict[str, Any]:
    """The rows the URLs point at, owned by the ``author`` role."""
    author = UserFactory.create(username="author")
    post = PostFactory.create(author=author, status=Post.Status.PUBLISHED, tags=[TagFactory.create(name="indexes")])
    return {
        "author": author,
        "user": UserFactory.create(username="reader"),
        "staff": UserFactory.create(username="staff", is_staff=True),
        "superuser": StaffFactory.create(username="root"),
        "forgetful": UserFactory.create(username="forgetful"),  # the password-reset link's user
        "post": post,
        "comment": CommentFactory.create(post=post, author=author),
        "tag": Tag.objects.get(name="indexes"),
    }


def admin_object(key: str, rows: dict[str, Any]) -> Any:
    app_model = key.removeprefix("admin:").rsplit("_", 1)[0]
    for model in registered_models():
        if f"{model._meta.app_label}_{model._meta.model_name}" == app_model or key.startswith(
            f"admin:{model._meta.app_label}_{model._meta.model_name}_"
        ):
            return {Post: rows["post"], Comment: rows["comment"], Tag: rows["tag"], User: rows["author"]}.get(
                model
            ) or model._default_manager.first()
    return None


def url_of(key: str, route: str, rows: dict[str, Any]) -> str:
    """A concrete URL for the pattern, pointing at ``rows``."""
    if key == "admin/<path:object_id>/":
        return reverse("admin:index") + f"blog/post/{rows['post'].pk}/"
    if key == "admin/(?P<url>.*)$":
        return reverse("admin:index") + "no-such-page/"
    if key in ("admin:view_on_site",):
        content_type = ContentType.objects.get_for_model(Post)
        return reverse(key, kwargs={"content_type_id": content_type.pk, "object_id": rows["post"].pk})
    if key == "admin:app_list":
        return reverse(key, kwargs={"app_label": "blog"})
    kwargs: dict[str, Any] = {}
    if "<uidb64>" in route:  # a valid reset link, for a user no role logs in as (a log-in would void it)
        kwargs["uidb64"] = urlsafe_base64_encode(force_bytes(rows["forgetful"].pk))
        kwargs["token"] = default_token_generator.make_token(rows["forgetful"])
    if "<int:number>" in route:  # the sitemap page listing the post
        kwargs["number"] = math.ceil(rows["post"].pk / settings.BLOG_SITEMAP_PAGE_SIZE)
    if "<slug:slug>" in route or "(?P<slug>" in route:
        kwargs["slug"] = rows["tag"].slug if "tag" in key else rows["post"].slug
    if "(?P<pk>" in route or "<int:pk>" in route:  # the API's comment detail, the site's comment edit/delete
        kwargs["pk"] = rows["comment"].pk
    if "username" in route:
        kwargs["username"] = rows["author"].username
    if "object_id" in route or "<id>" in route or "(?P<id>" in route:
        target = admin_object(key, rows)
        if target is None:
            pytest.skip(f"no object for {key}")
        kwargs["object_id" if "object_id" in route else "id"] = target.pk
    return reverse(key, kwargs=kwargs)


def request_as(role: str, method: str, url: str, rows: dict[str, Any]) -> int:
    client = Client()
    if role != "anonymous":
        client.force_login(rows[role])
    caches["default"].clear()  # throttles and log-in limits start empty for every cell
    if method == "GET":
        response = client.get(url)
    elif method == "POST":
        response = client.post(url, {})  # a form body: what the site's and admin's forms send
    else:
        response = client.generic(method, url, "{}", content_type="application/json")
    return int(response.status_code)


def observe(key: str, route: str, method: str) -> tuple[int, ...]:
    statuses = []
    for role in ROLES:
        with transaction.atomic():
            rows = world()
            statuses.append(request_as(role, method, url_of(key, route, rows), rows))
            transaction.set_rollback(True)
    return tuple(statuses)


CELLS = sorted(
    {(key, route, method) for key, route in url_patterns() for method in EXPECTED.get(key, {"GET": same(0)})}
)
# One route per key (format-suffix twins and every model's bare object URL share an entry).
CELLS = sorted({(key, method): (key, route, method) for key, route, method in CELLS}.values())


@pytest.mark.parametrize(("key", "route", "method"), CELLS, ids=[f"{m} {k}" for k, _, m in CELLS])
def test_each_role_gets_the_expected_status(key: str, route: str, method: str, settings: Any) -> None:
    settings.MONITORING_METRICS_ALLOWED_NETWORKS = []
    settings.MONITORING_METRICS_TOKEN = ""
    observed = observe(key, route, method)
    if os.environ.get("MATRIX_PRINT"):
        print(f'MATRIX "{key}" {method} {observed}')
        return
    assert observed == EXPECTED[key][method], dict(zip(ROLES, observed, strict=True))
