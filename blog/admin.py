"""Admin for posts, comments and tags, on the project's ModelAdmin (raw-id foreign keys, no full counts).

Deletes go through the services (``post_delete``, ``comment_delete``, ``tag_delete``), one object
at a time, the "delete selected" action included. Adds and changes are Django's own form saves:
the admin edits what the services deliberately keep fixed (a post's slug and author, an explicit
publication date, a comment's post and author, a tag's slug), and the forms validate the same
rules the database enforces (unique slugs, a published post has a date). A comment added here is
staff's, so it notifies no one, unlike ``comment_create``.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from blog import services
from blog.models import Comment, Post, PostTag, Tag
from project.admin import ModelAdmin, TabularInline
from users.models import User


def staff_user(request: HttpRequest) -> User:
    """The admin's user: the admin site lets only active staff in."""
    assert isinstance(request.user, User)
    return request.user


@admin.register(Tag)
class TagAdmin(ModelAdmin):
    list_display = ("name", "slug")
    search_fields = ("^name",)
    prepopulated_fields = {"slug": ("name",)}
    ordering = ("name",)

    def delete_model(self, request: HttpRequest, obj: Tag) -> None:
        services.tag_delete(tag=obj, by=staff_user(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for tag in queryset:
            self.delete_model(request, tag)


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

    def delete_model(self, request: HttpRequest, obj: Post) -> None:
        services.post_delete(post=obj, by=staff_user(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for post in queryset:
            self.delete_model(request, post)


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

    def delete_model(self, request: HttpRequest, obj: Comment) -> None:
        services.comment_delete(comment=obj, by=staff_user(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for comment in queryset:
            self.delete_model(request, comment)
