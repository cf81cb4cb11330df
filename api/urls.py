"""The API's URLs under /api/v1/: a router for the resources, then the few plain paths."""

from __future__ import annotations

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView
from rest_framework import permissions, routers
from rest_framework.routers import DefaultRouter

from api import docs, stats, views

app_name = "api"


class APIRootView(routers.APIRootView):
    """The API's index: links to each resource, open to everyone like the resources' reads."""

    permission_classes = [permissions.AllowAny]


router = DefaultRouter()
router.APIRootView = APIRootView
router.register("posts", views.PostViewSet, basename="post")
router.register("comments", views.CommentViewSet, basename="comment")
router.register("tags", views.TagViewSet, basename="tag")
router.register("users", views.UserViewSet, basename="user")

urlpatterns = [
    path("auth/token/", views.ObtainAuthToken.as_view(), name="token"),
    path("auth/logout/", views.LogOutView.as_view(), name="logout"),
    path("stats/", stats.SiteStatsViewSet.as_view({"get": "stats"}), name="stats"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its start-up script from its own URL (?script): no inline script for CSP.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    path("redoc-dist/bundles/redoc.standalone.js", docs.redoc_bundle, name="redoc-bundle"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api:schema", template_name="api/redoc.html"), name="redoc"),
    *router.urls,
]
