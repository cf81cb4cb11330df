from __future__ import annotations

from django.urls import path

from blog import feeds, sitemaps, views

app_name = "blog"

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("posts/new/", views.PostEditorView.as_view(), name="post-create"),
    path("posts/<slug:slug>/", views.PostDetailView.as_view(), name="post"),
    path("posts/<slug:slug>/edit/", views.PostEditorView.as_view(), name="post-edit"),
    path("posts/<slug:slug>/delete/", views.PostDeleteView.as_view(), name="post-delete"),
    path("comments/<int:pk>/edit/", views.CommentEditView.as_view(), name="comment-edit"),
    path("comments/<int:pk>/delete/", views.CommentDeleteView.as_view(), name="comment-delete"),
    path("posts/<slug:slug>/comments/", views.CommentCreateView.as_view(), name="comment-create"),
    path("tags/<slug:slug>/", views.TagView.as_view(), name="tag"),
    path("authors/<str:username>/", views.AuthorView.as_view(), name="author"),
    path("feed/", feeds.LatestPostsAtomFeed(), name="feed"),
    path("feed/rss/", feeds.LatestPostsFeed(), name="feed-rss"),
    path("tags/<slug:slug>/feed/", feeds.TagFeed(), name="tag-feed"),
    path("authors/<str:username>/feed/", feeds.AuthorFeed(), name="author-feed"),
    path("sitemap.xml", sitemaps.sitemap_index, name="sitemap"),
    path("sitemap-pages.xml", sitemaps.sitemap_pages, name="sitemap-pages"),
    path("sitemap-posts-<int:number>.xml", sitemaps.sitemap_posts, name="sitemap-posts"),
    path("robots.txt", sitemaps.robots_txt, name="robots"),
    # Browsers ask for /favicon.ico whatever the page says; send them to the static icon.
    path("favicon.ico", sitemaps.favicon, name="favicon"),
    path("search/", views.SearchView.as_view(), name="search"),
    path("dashboard/", views.DashboardView.as_view(), name="dashboard"),
]
