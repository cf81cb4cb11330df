"""The site's URLs plus baselines measured beside it (never routed in the real site)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest, JsonResponse
from django.urls import path

from blog.models import Post
from project.urls import urlpatterns as site_urlpatterns


def bare_json(request: HttpRequest) -> JsonResponse:
    """The floor: a Django view that touches no database, no template and no cache."""
    return JsonResponse({"status": "ok", "items": list(range(20))})


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


urlpatterns = [
    path("bench/bare/", bare_json, name="bench-bare"),
    path("bench/stock-admin/", stock_admin_site.urls),
    *site_urlpatterns,
]
