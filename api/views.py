"""API viewsets, on the project's DRF bases; every write goes through a service function.

Each viewset names its related rows (``select_related``/``prefetch_related``, or annotations in
``build_queryset``), so its list and detail run a fixed number of queries, asserted in ``api/tests/``.
"""

from __future__ import annotations

from typing import Any, cast

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, permissions
from rest_framework.authtoken.views import ObtainAuthToken as DRFObtainAuthToken
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.filters import CommentFilter, PostFilter
from api.serializers import (
    CommentSerializer,
    MeSerializer,
    PostListSerializer,
    PostSerializer,
    TagSerializer,
    UserSerializer,
)
from blog import services
from blog.models import Comment, Post, PostQuerySet, Tag
from project.api import (
    FilterBackend,
    GenericViewSet,
    IsOwnerOrStaffOrReadOnly,
    IsStaffOrReadOnly,
    JSONParser,
    ModelViewSet,
    OrderingFilter,
)
from project.api_policies import AnonRateThrottle, WriteRateThrottle
from project.paginators import ByNameCursorPagination, OldestFirstCursorPagination
from project.security.tokens import fresh_token, revoke_token
from users.models import User


def requester(request: Request) -> User:
    """The logged-in user making a write (the viewsets' permissions have already refused anonymous)."""
    assert isinstance(request.user, User)
    return request.user


LIST_COLUMNS = ("id", "slug", "title", "status", "published_at", "author_id", "author__id", "author__username")
# The same as plain values, for a list whose tags PostgreSQL builds: no model instances at all.
LIST_VALUES = ("id", "slug", "title", "status", "published_at", "comment_count", "tag_data", "author__username")


@extend_schema_view(
    create=extend_schema(description="Write a post as the requester; `status: published` publishes it now."),
    destroy=extend_schema(description="Delete a post and its comments (author or staff)."),
)
class PostViewSet(ModelViewSet):
    """Published posts (and, for their author and staff, drafts), newest first, by cursor."""

    queryset = Post.objects.all()
    serializer_class = PostSerializer
    lookup_field = "slug"
    select_related = ("author",)
    permission_classes = [IsOwnerOrStaffOrReadOnly]
    throttle_scope = "posts"
    filter_backends = [FilterBackend, OrderingFilter]
    filterset_class = PostFilter
    ordering_fields = ["id"]
    ordering = ("-id",)

    @classmethod
    def build_queryset(cls, action: str | None) -> Any:
        # Comment counts and tags come with the posts' own query (tags as JSON on PostgreSQL).
        queryset = cast(PostQuerySet, super().build_queryset(action)).with_comment_counts().with_tag_data()
        if action == "list" and "tag_data" in queryset.query.annotations:
            # Tags built by PostgreSQL (elsewhere a prefetch, which needs model instances): the rows
            # become dicts of the values shown, the author's username joined in as select_related
            # would, so no model instance is built for a row that is only serialised.
            queryset = queryset.values(*LIST_VALUES)
        elif action == "list":
            # Only the columns the list shows: no body (the big column) and, of the author, only
            # the username (the user row carries a password hash and five timestamps to parse).
            queryset = queryset.only(*LIST_COLUMNS)
        elif action == "retrieve":
            queryset = queryset.only(*LIST_COLUMNS, "body")
        return queryset

    def get_queryset(self) -> Any:
        return super().get_queryset().visible_to(self.request.user)

    def get_serializer_class(self) -> Any:
        return PostListSerializer if self.action == "list" else PostSerializer

    def _reload(self, post: Post) -> Post:
        # The response shows the comment count and tags as a read would: fetch it the same way.
        return self.get_queryset().get(pk=post.pk)

    def perform_create(self, serializer: Any) -> None:
        data = serializer.validated_data
        post = services.post_create(
            author=requester(self.request),
            title=data["title"],
            body=data["body"],
            tags=data.get("tags", ()),
            publish=data.get("status") == Post.Status.PUBLISHED,
        )
        serializer.instance = self._reload(post)

    def perform_update(self, serializer: Any) -> None:
        data = serializer.validated_data
        status = data.get("status")
        post = services.post_update(
            post=serializer.instance,
            by=requester(self.request),
            title=data.get("title"),
            body=data.get("body"),
            tags=data.get("tags"),
            publish=None if status is None else status == Post.Status.PUBLISHED,
        )
        serializer.instance = self._reload(post)

    def perform_destroy(self, instance: Post) -> None:
        services.post_delete(post=instance, by=requester(self.request))


@extend_schema_view(
    list=extend_schema(description="One post's comments, oldest first. The `post` parameter is required."),
    create=extend_schema(description="Comment on a published post (409 on a draft you can see)."),
)
class CommentViewSet(ModelViewSet):
    """Comments on the posts the requester may see; ``post`` is required to list them."""

    queryset = Comment.objects.all()
    serializer_class = CommentSerializer
    select_related = ("author",)
    permission_classes = [IsOwnerOrStaffOrReadOnly]
    throttle_scope = "comments"
    filter_backends = [FilterBackend]
    filterset_class = CommentFilter
    pagination_class = OldestFirstCursorPagination
    lookup_value_regex = r"[0-9]+"
    extra_error_statuses = {"POST": (409,)}

    def get_queryset(self) -> Any:
        queryset = super().get_queryset()
        if not self.request.user.is_staff:
            queryset = queryset.filter(post__in=Post.objects.visible_to(self.request.user).values("pk"))
        return queryset

    def filter_queryset(self, queryset: Any) -> Any:
        if self.action == "list" and not self.request.query_params.get("post"):
            # Without a post, a list would page through every comment on the site.
            raise exceptions.ValidationError({"post": ["This query parameter is required."]})
        return super().filter_queryset(queryset)

    def perform_create(self, serializer: Any) -> None:
        data = serializer.validated_data
        serializer.instance = services.comment_create(
            post=data["post"], author=requester(self.request), body=data["body"]
        )

    def perform_update(self, serializer: Any) -> None:
        if "body" in serializer.validated_data:  # a PATCH may leave it out
            serializer.instance = services.comment_update(
                comment=serializer.instance, by=requester(self.request), body=serializer.validated_data["body"]
            )

    def perform_destroy(self, instance: Comment) -> None:
        services.comment_delete(comment=instance, by=requester(self.request))


class TagViewSet(ModelViewSet):
    """Every tag, by name; staff create, rename and delete them."""

    queryset = Tag.objects.all()
    serializer_class = TagSerializer
    lookup_field = "slug"
    permission_classes = [IsStaffOrReadOnly]
    throttle_scope = "tags"
    pagination_class = ByNameCursorPagination
    extra_error_statuses = {"POST": (409,), "PUT": (409,), "PATCH": (409,)}

    def perform_create(self, serializer: Any) -> None:
        serializer.instance = services.tag_create(name=serializer.validated_data["name"], by=requester(self.request))

    def perform_update(self, serializer: Any) -> None:
        if "name" in serializer.validated_data:  # a PATCH may leave it out
            serializer.instance = services.tag_update(
                tag=serializer.instance, by=requester(self.request), name=serializer.validated_data["name"]
            )

    def perform_destroy(self, instance: Tag) -> None:
        services.tag_delete(tag=instance, by=requester(self.request))


class UserViewSet(mixins.RetrieveModelMixin, GenericViewSet):
    """Public profiles by username, and ``me``: the requester's own account."""

    queryset = User.objects.filter(is_active=True)
    serializer_class = UserSerializer
    lookup_field = "username"
    lookup_value_regex = r"[\w.@+-]+"
    permission_classes = [permissions.IsAuthenticatedOrReadOnly]

    @extend_schema(responses=MeSerializer)
    @action(detail=False, permission_classes=[permissions.IsAuthenticated], serializer_class=MeSerializer)
    def me(self, request: Request) -> Response:
        """Return the requester's own account (no query beyond authentication)."""
        return Response(MeSerializer(request.user, context=self.get_serializer_context()).data)


class ObtainAuthToken(DRFObtainAuthToken):
    """Trade a username and password for the account's API token (JSON only, throttled per IP)."""

    parser_classes = [JSONParser]
    permission_classes = [permissions.AllowAny]
    # DRF's view turns throttling off; password guessing is exactly what the write scope limits.
    throttle_classes = [AnonRateThrottle, WriteRateThrottle]
    throttle_scope = "token"

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Return the account's token, a new one if the old one has expired."""
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response({"token": fresh_token(serializer.validated_data["user"]).key})


class LogOutView(APIView):
    """Revoke the requester's API token: the next request with it is refused (401)."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=None, responses={204: None})
    def post(self, request: Request) -> Response:
        """Delete the requester's token; the session, if any, is left to the site's log-out."""
        revoke_token(request.user)
        return Response(status=204)
