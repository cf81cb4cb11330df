"""The blog's pages. Each names its related rows, and each list page runs a fixed number of queries."""

from __future__ import annotations

from typing import Any, cast

from django.conf import settings
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.paginator import InvalidPage
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views import View
from django.views.generic import TemplateView

from blog.forms import CommentForm
from blog.models import TAGS, Comment, Post, PostQuerySet, Tag
from blog.services import comment_create
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
        return super().get_context_data(comments=page, **kwargs)


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
        return HttpResponseRedirect(f"{post.get_absolute_url()}#comment-{comment.pk}")


class DashboardView(LoginRequiredMixin, TemplateView):
    """The logged-in author's totals, from the background cache, with the time they were computed."""

    template_name = "blog/dashboard.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        author = cast(User, self.request.user)  # LoginRequiredMixin let only a logged-in user through
        return super().get_context_data(stats=author_dashboard.get(author.pk), **kwargs)
