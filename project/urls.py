"""The site's URLs: the blog at the root, accounts, the admin and the versioned API."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from project import views

urlpatterns = [
    path("", include("blog.urls")),
    path("accounts/", include("users.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("api.urls")),
    path("healthz", views.healthz, name="healthz"),
]

# Under /api/ errors keep the API's JSON shape even when no API view was reached.
handler400 = "project.api_policies.bad_request"
handler403 = "project.api_policies.permission_denied"
handler404 = "project.api_policies.page_not_found"
handler500 = "project.api_policies.server_error"

if settings.DEBUG_TOOLBAR:
    urlpatterns.append(path("__debug__/", include("debug_toolbar.urls")))
