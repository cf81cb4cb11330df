"""The background-cached parts of the site as a whole: the API stats endpoint, and every page that
reads the background cache still answering 200 with the broker or the cache Redis down.

Outages are simulated by pointing settings at a closed port (never by stopping the shared Redis).
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.conf import settings
from django.test import Client, override_settings
from django.urls import reverse
from pytest_django import DjangoAssertNumQueries

from blog.stats import author_dashboard, home_highlights, site_stats
from blog.tests.factories import CommentFactory, PostFactory, TagFactory
from project.cache.background import event_counts
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

CLOSED_PORT_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1: connections are refused


@pytest.fixture
def site() -> dict[str, Any]:
    author = UserFactory.create(username="ada")
    post = PostFactory.create(author=author, title="Hello", tags=[TagFactory.create(name="django")])
    CommentFactory.create_batch(2, post=post)
    return {"author": author, "post": post}


def pages(client: Client) -> dict[str, int]:
    return {path: client.get(path).status_code for path in ["/", reverse("blog:dashboard"), reverse("api:stats")]}


def test_api_stats_computes_once_then_answers_from_the_cache_without_sql(
    client: Client, site: dict[str, Any], django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    # The first-ever call computes (on_miss="compute"): 1: published posts, 2: comments,
    # 3: authors with a published post, 4: tags
    with django_assert_num_queries(4):
        first = client.get(reverse("api:stats"))
    # A fresh value is a cache read: no SQL at all (anonymous: no session either)
    with django_assert_num_queries(0):
        second = client.get(reverse("api:stats"))
    assert first.status_code == second.status_code == 200
    body = second.json()
    assert {k: body[k] for k in ("published_posts", "comments", "authors", "tags", "stale")} == {
        "published_posts": 1,
        "comments": 2,
        "authors": 1,
        "tags": 1,
        "stale": False,
    }
    assert body["computed_at"] == first.json()["computed_at"]
    assert body["computed_at"].endswith("Z")


def test_api_stats_reports_a_stale_value_while_it_is_refreshed(
    client: Client, site: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    client.get(reverse("api:stats"))
    PostFactory.create()
    monkeypatch.setattr(site_stats, "refresh_after", 0.01)
    time.sleep(0.02)
    body = client.get(reverse("api:stats")).json()
    assert (body["published_posts"], body["stale"]) == (1, True)


def test_pages_answer_200_with_stale_values_while_the_broker_is_down(
    client: Client, site: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    client.force_login(site["author"])
    home_highlights.refresh_now()
    assert pages(client) == {"/": 200, "/dashboard/": 200, "/api/v1/stats/": 200}  # fills the other two
    for function in (home_highlights, author_dashboard, site_stats):
        monkeypatch.setattr(function, "refresh_after", 0.01)
    time.sleep(0.02)
    before = {f.name: event_counts(f)["enqueue_failed"] for f in (home_highlights, author_dashboard, site_stats)}
    with override_settings(CELERY_BROKER_URL=CLOSED_PORT_URL):
        assert pages(client) == {"/": 200, "/dashboard/": 200, "/api/v1/stats/": 200}
        home = client.get("/")
    assert home.context["highlights"].state == "stale"
    assert b"Hello</a>" in home.content
    after = {f.name: event_counts(f)["enqueue_failed"] for f in (home_highlights, author_dashboard, site_stats)}
    assert {name: after[name] - before[name] for name in after} == dict.fromkeys(after, 1)


def test_pages_answer_200_while_the_cache_redis_is_down(client: Client, site: dict[str, Any]) -> None:
    client.force_login(site["author"])
    caches_down = {"default": {**settings.CACHES["default"], "LOCATION": CLOSED_PORT_URL}}
    with override_settings(CACHES=caches_down):
        assert pages(client) == {"/": 200, "/dashboard/": 200, "/api/v1/stats/": 200}
        dashboard = client.get(reverse("blog:dashboard"))
        stats = client.get(reverse("api:stats")).json()
    # Computed in the request (misses), so still right; the home page shows its "being computed" note.
    assert '<dd id="comments-received">2</dd>' in dashboard.content.decode()
    assert stats["comments"] == 2
