"""The blog's pages. Each names its related rows, and each list page runs a fixed number of queries."""

from __future__ import annotations

from typing import Any, cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.core.paginator import InvalidPage
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views import View
from django.views.generic import TemplateView

from blog.forms import CommentForm, PostForm
from blog.markdown import render_markdown
from blog.models import TAGS, Comment, Post, PostQuerySet, Tag
from blog.services import (
    comment_create,
    comment_delete,
    comment_update,
    post_create,
    post_delete,
    post_update,
)
from blog.stats import author_dashboard, home_highlights
from project.paginators import LookaheadPaginator
from project.views import DetailView, ListView
from users.models import User


class PostListView(ListView):
    """Published posts, newest first, with author, tags and comment count."""

    model = Post
    context_object_name = "posts"
    select_related = ("author",)
    prefetch_related = (TAGS,)

    def get_paginate_by(self, queryset: Any) -> int:
        return settings.BLOG_POSTS_PER_PAGE

    def get_queryset(self) -> PostQuerySet:
        queryset = cast(PostQuerySet, super().get_queryset())
        return queryset.published().with_comment_counts().newest_first().defer("body")


class HomeView(PostListView):
    """The newest posts, beside popular posts and a tag cloud served from the background cache."""

    template_name = "blog/home.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        # A cache read, never a query: the aggregation runs in the worker.
        return super().get_context_data(highlights=home_highlights.get(), **kwargs)


class TagView(PostListView):
    template_name = "blog/tag.html"

    def get_queryset(self) -> PostQuerySet:
        self.tag = get_object_or_404(Tag, slug=self.kwargs["slug"])
        # One range of posttag_listed_idx: the tag's links, newest first, each joined to its post
        # (the post's own status and date are still checked). See PostTag.
        links = {"tag_links__tag": self.tag, "tag_links__listed_since__lte": timezone.now()}
        return super().get_queryset().filter(**links).order_by("-tag_links__listed_since", "-tag_links__post_id")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(tag=self.tag, **kwargs)


class AuthorView(PostListView):
    template_name = "blog/author.html"

    def get_queryset(self) -> PostQuerySet:
        self.author = get_object_or_404(User, username=self.kwargs["username"], is_active=True)
        return super().get_queryset().filter(author=self.author)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(author=self.author, **kwargs)


class SearchView(PostListView):
    """Published posts whose title or body matches ``?q=``, newest first."""

    template_name = "blog/search.html"

    def get_queryset(self) -> PostQuerySet:
        self.query = " ".join(self.request.GET.get("q", "").split())[:200]
        if not self.query:
            return Post.objects.none()
        return super().get_queryset().search(self.query)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(query=self.query, **kwargs)


class PostDetailView(DetailView):
    """One post with a page of its comments (oldest first) and, for logged-in readers, a form."""

    model = Post
    template_name = "blog/post_detail.html"
    context_object_name = "post"
    select_related = ("author",)
    prefetch_related = (TAGS,)

    def get_queryset(self) -> PostQuerySet:
        queryset = cast(PostQuerySet, super().get_queryset())
        return queryset.visible_to(self.request.user)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        comments = Comment.objects.filter(post=self.object).select_related("author").oldest_first()
        paginator = LookaheadPaginator(comments, settings.BLOG_COMMENTS_PER_PAGE)
        try:
            page = paginator.page(self.request.GET.get("comments") or 1)
        except InvalidPage as exc:
            raise Http404(str(exc)) from exc
        kwargs.setdefault("form", CommentForm())
        return super().get_context_data(comments=page, **self.neighbours(), **kwargs)

    def neighbours(self) -> dict[str, Post | None]:
        """The published posts just older and just newer than this one (each one row of post_published_idx)."""
        post = self.object
        if not post.is_published:
            return {"previous_post": None, "next_post": None}
        published = Post.objects.published().only("id", "title", "slug")
        at, pk = post.published_at, post.pk
        older = published.filter(Q(published_at__lt=at) | Q(published_at=at, id__lt=pk)).newest_first().first()
        newer = published.filter(Q(published_at__gt=at) | Q(published_at=at, id__gt=pk)).order_by("published_at", "id")
        return {"previous_post": older, "next_post": newer.first()}


class CommentCreateView(LoginRequiredMixin, View):
    """Add a comment, then go back to the post (or show the form again with its errors)."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest, slug: str) -> HttpResponse:
        post = get_object_or_404(Post.objects.published().select_related("author"), slug=slug)
        form = CommentForm(request.POST)
        if not form.is_valid():
            view = PostDetailView(request=request, kwargs={"slug": slug}, object=post)
            context = view.get_context_data(object=post, form=form)
            return render(request, PostDetailView.template_name, context, status=400)
        comment = comment_create(post=post, author=request.user, body=form.cleaned_data["body"])  # type: ignore[arg-type]
        messages.success(request, "Your comment is posted.")
        return HttpResponseRedirect(f"{post.get_absolute_url()}#comment-{comment.pk}")


class DashboardView(LoginRequiredMixin, TemplateView):
    """The logged-in author's totals, from the background cache, with the time they were computed."""

    template_name = "blog/dashboard.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        author = cast(User, self.request.user)  # LoginRequiredMixin let only a logged-in user through
        # The author's own posts, drafts included, newest first: one range of post_author_id_idx.
        own = Post.objects.filter(author=author).order_by("-id").only("id", "title", "slug", "status", "published_at")
        try:
            page = LookaheadPaginator(own, settings.BLOG_POSTS_PER_PAGE).page(self.request.GET.get("page") or 1)
        except InvalidPage as exc:
            raise Http404(str(exc)) from exc
        return super().get_context_data(stats=author_dashboard.get(author.pk), page_obj=page, **kwargs)


def _post_for_editing(request: HttpRequest, slug: str) -> Post:
    """The post at ``slug`` with its tags, if the user may edit it (its author or staff); else 403."""
    posts = Post.objects.select_related("author").prefetch_related(TAGS)  # type: ignore[no-redef]  # to_attr
    post = get_object_or_404(posts, slug=slug)
    if post.author_id != request.user.pk and not request.user.is_staff:
        raise PermissionDenied("Only the post's author or staff may change it.")
    return post


class PostEditorView(LoginRequiredMixin, View):
    """Write a new post or edit one: preview it, save it as a draft, publish or unpublish it.

    The button pressed is the form's ``action``; every write goes through ``blog.services``.
    """

    template_name = "blog/post_form.html"

    def get(self, request: HttpRequest, slug: str | None = None) -> HttpResponse:
        post = _post_for_editing(request, slug) if slug else None
        form = PostForm(initial=PostForm.initial_for(post) if post else None)
        return self.render(request, form, post)

    def post(self, request: HttpRequest, slug: str | None = None) -> HttpResponse:
        post = _post_for_editing(request, slug) if slug else None
        form = PostForm(request.POST)
        if not form.is_valid():
            return self.render(request, form, post, status=400)
        data, action = form.cleaned_data, form.action
        if action == "preview":
            return self.render(request, form, post, preview=render_markdown(data["body"]))
        user = cast(User, request.user)
        fields = {"title": data["title"], "body": data["body"], "tags": data["tags"]}
        if post is None:
            post = post_create(author=user, publish=action == "publish", **fields)
        else:
            publish = {"publish": True, "unpublish": False}.get(action)
            post = post_update(post=post, by=user, publish=publish, **fields)
        if post.status == Post.Status.PUBLISHED:
            messages.success(request, "Your post is published." if action == "publish" else "Your post is saved.")
            return HttpResponseRedirect(post.get_absolute_url())
        messages.success(request, "Your draft is saved." if action != "unpublish" else "Your post is a draft again.")
        return HttpResponseRedirect(reverse("blog:post-edit", kwargs={"slug": post.slug}))

    def render(
        self, request: HttpRequest, form: PostForm, post: Post | None, *, status: int = 200, preview: str | None = None
    ) -> HttpResponse:
        context = {"form": form, "post": post, "preview": preview}
        return render(request, self.template_name, context, status=status)


class PostDeleteView(LoginRequiredMixin, View):
    """Ask before deleting a post (GET), then delete it with its comments (POST)."""

    def get(self, request: HttpRequest, slug: str) -> HttpResponse:
        post = _post_for_editing(request, slug)
        return render(request, "blog/post_confirm_delete.html", {"post": post})

    def post(self, request: HttpRequest, slug: str) -> HttpResponse:
        post = _post_for_editing(request, slug)
        post_delete(post=post, by=cast(User, request.user))
        messages.success(request, f"“{post.title}” is deleted.")
        return HttpResponseRedirect(reverse("blog:dashboard"))


def _comment_for_editing(request: HttpRequest, pk: int) -> Comment:
    """The comment ``pk`` with its post, if the user wrote it (or is staff); else 403."""
    comment = get_object_or_404(Comment.objects.select_related("post"), pk=pk)
    if comment.author_id != request.user.pk and not request.user.is_staff:
        raise PermissionDenied("Only the comment's writer or staff may change it.")
    return comment


class CommentEditView(LoginRequiredMixin, View):
    """Edit one's own comment."""

    template_name = "blog/comment_form.html"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        comment = _comment_for_editing(request, pk)
        form = CommentForm(initial={"body": comment.body})
        return render(request, self.template_name, {"form": form, "comment": comment})

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        comment = _comment_for_editing(request, pk)
        form = CommentForm(request.POST)
        if not form.is_valid():
            return render(request, self.template_name, {"form": form, "comment": comment}, status=400)
        comment_update(comment=comment, by=cast(User, request.user), body=form.cleaned_data["body"])
        messages.success(request, "Your comment is updated.")
        return HttpResponseRedirect(f"{comment.post.get_absolute_url()}#comment-{comment.pk}")


class CommentDeleteView(LoginRequiredMixin, View):
    """Ask before deleting one's own comment (GET), then delete it (POST)."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        comment = _comment_for_editing(request, pk)
        return render(request, "blog/comment_confirm_delete.html", {"comment": comment})

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        comment = _comment_for_editing(request, pk)
        comment_delete(comment=comment, by=cast(User, request.user))
        messages.success(request, "Your comment is deleted.")
        return HttpResponseRedirect(f"{comment.post.get_absolute_url()}#comments")
