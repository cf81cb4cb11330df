"""The site's URLs: the blog at the root, accounts, the admin, the versioned API and the probes."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from project.monitoring import probes, prometheus
from project.monitoring.views import performance_view

urlpatterns = [
    path("", include("blog.urls")),
    path("accounts/", include("users.urls")),
    # DJANGO_ADMIN_PATH moves the admin (default admin/).
    path(f"{settings.ADMIN_PATH}performance/", admin.site.admin_view(performance_view), name="admin-performance"),
    path(settings.ADMIN_PATH, admin.site.urls),
    path("api/v1/", include("api.urls")),
    path("healthz", probes.healthz, name="healthz"),
    path("readyz", probes.readyz, name="readyz"),
    path("metrics", prometheus.metrics_view, name="metrics"),
]

# Under /api/ errors keep the API's JSON shape even when no API view was reached.
handler400 = "project.api_policies.bad_request"
handler403 = "project.api_policies.permission_denied"
handler404 = "project.api_policies.page_not_found"
# A database outage raised outside a view is a 503 too (project/outages.py); other errors get
# project.api_policies.server_error.
handler500 = "project.outages.server_error"

if settings.DEBUG_TOOLBAR:
    urlpatterns.append(path("__debug__/", include("debug_toolbar.urls")))
