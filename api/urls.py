from __future__ import annotations

from django.urls import path
from rest_framework.routers import DefaultRouter

from api import stats, views

app_name = "api"

router = DefaultRouter()
router.register("posts", views.PostViewSet, basename="post")
router.register("tags", views.TagViewSet, basename="tag")

urlpatterns = router.urls
urlpatterns.append(path("stats/", stats.SiteStatsView.as_view(), name="stats"))
