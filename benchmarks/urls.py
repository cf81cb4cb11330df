"""The site's URLs plus baselines measured beside it (never routed in the real site)."""

from __future__ import annotations

import contextlib
import os
import time
from typing import Any

import redis
from django.conf import settings
from django.contrib import admin
from django.core.cache import cache
from django.http import HttpRequest, JsonResponse
from django.urls import path
from rest_framework.routers import SimpleRouter

from benchmarks.naive_api import NaivePostViewSet
from blog.models import Post
from project.cache.background import background_cached
from project.urls import handler400, handler403, handler404, handler500  # noqa: F401 - the site's error pages
from project.urls import urlpatterns as site_urlpatterns

# make bench-cache: a function as slow as a real aggregation, and how often its values go stale.
SLOW_SECONDS = 0.3
CACHE_REFRESH_SECONDS = int(os.environ.get("BENCH_CACHE_REFRESH_SECONDS", "3"))
COMPUTATIONS_KEY = "bench:cache:computations"  # a Redis hash: key -> times computed


def bare_json(request: HttpRequest) -> JsonResponse:
    """The floor: a Django view that touches no database, no template and no cache."""
    return JsonResponse({"status": "ok", "items": list(range(20))})


def slow_value(key: int) -> dict[str, Any]:
    """Stand in for a slow aggregation: 300 ms of waiting, then a small result."""
    time.sleep(SLOW_SECONDS)
    return {"key": key, "items": list(range(20))}


@background_cached(refresh_after=CACHE_REFRESH_SECONDS, on_miss="compute")
def background_slow_value(key: int) -> dict[str, Any]:
    """The slow value through the background cache; counts its computations for the benchmark."""
    # `make chaos` stops this Redis while the value is served: a lost count must not fail the request.
    with contextlib.suppress(redis.RedisError):
        redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=0.5).hincrby(COMPUTATIONS_KEY, str(key), 1)
    return slow_value(key)


def cache_naive(request: HttpRequest, key: int) -> JsonResponse:
    """The talk's "typical" cache: a timeout, and whoever finds it expired waits for the refill."""
    value = cache.get(f"bench:naive:{key}")
    if value is None:
        value = slow_value(key)
        cache.set(f"bench:naive:{key}", value, timeout=CACHE_REFRESH_SECONDS)
    return JsonResponse(value)


def cache_hit(request: HttpRequest, key: int) -> JsonResponse:
    """The ceiling: a plain cache hit on a value that never expires (filled by the warm-up request)."""
    value = cache.get(f"bench:hit:{key}")
    if value is None:
        value = slow_value(key)
        cache.set(f"bench:hit:{key}", value, timeout=None)
    return JsonResponse(value)


def cache_background(request: HttpRequest, key: int) -> JsonResponse:
    """Ours; the headers let the benchmark count stale windows and enqueued refreshes exactly."""
    cached = background_slow_value.get(key)
    response = JsonResponse(cached.value)
    response["X-Cache-State"] = cached.state
    response["X-Computed-At"] = cached.computed_at.isoformat() if cached.computed_at else ""
    response["X-Refresh-Enqueued"] = "1" if cached.refresh_enqueued else "0"
    return response


# `make bench-admin`'s baseline: the post changelist as stock Django serves it, with the same
# columns, filter, search, ordering and page size as blog.admin.PostAdmin but none of
# project.admin's counting defaults, so the difference measured is the counting.
stock_admin_site = admin.AdminSite(name="stock_admin")


@admin.register(Post, site=stock_admin_site)
class StockPostAdmin(admin.ModelAdmin):  # Django's own class on purpose: the baseline
    list_display = ("title", "author", "status", "published_at", "updated_at")
    list_filter = ("status",)
    list_select_related = ("author",)
    search_fields = ("title",)
    ordering = ("-id",)
    list_per_page = 50  # as ours: rendering 100 rows instead would not be the counting's fault


naive_router = SimpleRouter()
naive_router.register("bench/naive-api/posts", NaivePostViewSet, basename="bench-naive-post")

urlpatterns = [
    path("bench/bare/", bare_json, name="bench-bare"),
    path("bench/cache/naive/<int:key>/", cache_naive, name="bench-cache-naive"),
    path("bench/cache/hit/<int:key>/", cache_hit, name="bench-cache-hit"),
    path("bench/cache/background/<int:key>/", cache_background, name="bench-cache-background"),
    path("bench/stock-admin/", stock_admin_site.urls),
    *naive_router.urls,
    *site_urlpatterns,
]
