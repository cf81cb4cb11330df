from __future__ import annotations

from django.urls import path

from blog import views

app_name = "blog"

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("posts/<slug:slug>/", views.PostDetailView.as_view(), name="post"),
    path("posts/<slug:slug>/comments/", views.CommentCreateView.as_view(), name="comment-create"),
    path("tags/<slug:slug>/", views.TagView.as_view(), name="tag"),
    path("authors/<str:username>/", views.AuthorView.as_view(), name="author"),
    path("dashboard/", views.DashboardView.as_view(), name="dashboard"),
]
