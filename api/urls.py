from __future__ import annotations

from rest_framework.routers import DefaultRouter

from api import views

app_name = "api"

router = DefaultRouter()
router.register("posts", views.PostViewSet, basename="post")
router.register("tags", views.TagViewSet, basename="tag")

urlpatterns = router.urls
