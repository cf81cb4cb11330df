"""Admin for posts, comments and tags, on the project's ModelAdmin (raw-id foreign keys, no full counts)."""

from __future__ import annotations

from django.contrib import admin

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
    # Not the body, nor the author's password hash and profile: building fields nobody sees is waste.
    list_only = ("title", "status", "published_at", "updated_at", "author__username")
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
    # The post's title, not its body; the author's name, not the rest of the account.
    list_only = ("created_at", "post__title", "author__username")
