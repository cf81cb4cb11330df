"""Admin for posts, comments and tags, on the project's ModelAdmin (raw-id foreign keys, no full counts)."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from blog.models import Comment, Post, PostTag, Tag
from project.admin import ModelAdmin, TabularInline


@admin.register(Tag)
class TagAdmin(ModelAdmin):
    list_display = ("name", "slug")
    search_fields = ("^name",)
    prepopulated_fields = {"slug": ("name",)}
    ordering = ("name",)


class PostTagInline(TabularInline):
    """A post's tags, one row each (the link also carries the post's listed_since, kept in step by Post)."""

    model = PostTag
    autocomplete_fields = ("tag",)
    verbose_name, verbose_name_plural = "tag", "tags"


@admin.register(Post)
class PostAdmin(ModelAdmin):
    list_display = ("title", "author", "status", "published_at", "updated_at")
    list_filter = ("status",)
    list_select_related = ("author",)
    search_fields = ("title",)
    prepopulated_fields = {"slug": ("title",)}
    ordering = ("-id",)
    inlines = (PostTagInline,)
    readonly_fields = ("created_at", "updated_at")


@admin.register(Comment)
class CommentAdmin(ModelAdmin):
    list_display = ("id", "post", "author", "created_at")
    list_select_related = ("post", "author")
    # An exact slug, served by its unique index: "=post__slug" would be iexact, UPPER(slug) = UPPER(...),
    # which no index serves, so every search would read all the posts.
    search_fields = ("post__slug__exact",)
    ordering = ("-id",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Comment]:
        # The changelist shows the post's title, not its body.
        return super().get_queryset(request).defer("post__body")
