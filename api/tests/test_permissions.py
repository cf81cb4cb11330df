"""Who may do what: anonymous / author / other user / staff x each method on each resource.

Clients authenticate by token here (no CSRF involved); ``test_csrf.py`` covers sessions.
"""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from api.tests.conftest import client_for
from blog.models import Comment, Post, Tag
from blog.tests.factories import CommentFactory, PostFactory, TagFactory
from users.models import User

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "author", "other", "staff")


@pytest.fixture
def clients(author: User, other: User, staff: User) -> dict[str, APIClient]:
    return {
        "anonymous": client_for(None),
        "author": client_for(author),
        "other": client_for(other),
        "staff": client_for(staff),
    }


def expect(anonymous: int, author: int, other: int, staff: int) -> dict[str, int]:
    return dict(zip(ROLES, (anonymous, author, other, staff), strict=True))


POST_MATRIX = [
    ("get", "list", None, expect(200, 200, 200, 200)),
    ("get", "detail", None, expect(200, 200, 200, 200)),
    ("post", "list", {"title": "New", "body": "Text."}, expect(401, 201, 201, 201)),
    ("put", "detail", {"title": "Changed", "body": "Changed."}, expect(401, 200, 403, 200)),
    ("patch", "detail", {"title": "Changed"}, expect(401, 200, 403, 200)),
    ("delete", "detail", None, expect(401, 204, 403, 204)),
]


@pytest.mark.parametrize(("method", "target", "data", "statuses"), POST_MATRIX)
@pytest.mark.parametrize("role", ROLES)
def test_posts_permissions(
    clients: dict[str, APIClient], author: User, role: str, method: str, target: str, data: dict | None, statuses: dict
) -> None:
    post = PostFactory.create(author=author, title="Original")
    url = "/api/v1/posts/" if target == "list" else f"/api/v1/posts/{post.slug}/"
    response = getattr(clients[role], method)(url, data, format="json")
    assert response.status_code == statuses[role], response.content
    post_exists = Post.objects.filter(pk=post.pk).exists()
    assert post_exists == (response.status_code != 204)
    if method in {"put", "patch"} and response.status_code != 200 and post_exists:
        assert Post.objects.get(pk=post.pk).title == "Original"  # a refusal changes nothing


COMMENT_MATRIX = [
    ("get", "list", None, expect(200, 200, 200, 200)),
    ("get", "detail", None, expect(200, 200, 200, 200)),
    ("post", "list", {"body": "Hello"}, expect(401, 201, 201, 201)),
    ("put", "detail", {"body": "Changed"}, expect(401, 200, 403, 200)),
    ("patch", "detail", {"body": "Changed"}, expect(401, 200, 403, 200)),
    ("delete", "detail", None, expect(401, 204, 403, 204)),
]


@pytest.mark.parametrize(("method", "target", "data", "statuses"), COMMENT_MATRIX)
@pytest.mark.parametrize("role", ROLES)
def test_comments_permissions(
    clients: dict[str, APIClient], author: User, role: str, method: str, target: str, data: dict | None, statuses: dict
) -> None:
    comment = CommentFactory.create(author=author, body="Original")  # on someone else's post
    if target == "list":
        url = "/api/v1/comments/" if method == "post" else f"/api/v1/comments/?post={comment.post_id}"
        data = {**data, "post": comment.post_id} if data else data
    else:
        url = f"/api/v1/comments/{comment.pk}/"
    response = getattr(clients[role], method)(url, data, format="json")
    assert response.status_code == statuses[role], response.content
    comment_exists = Comment.objects.filter(pk=comment.pk).exists()
    assert comment_exists == (response.status_code != 204)
    if method in {"put", "patch"} and response.status_code != 200:
        assert Comment.objects.get(pk=comment.pk).body == "Original"


TAG_MATRIX = [
    ("get", "list", None, expect(200, 200, 200, 200)),
    ("get", "detail", None, expect(200, 200, 200, 200)),
    ("post", "list", {"name": "brand-new"}, expect(401, 403, 403, 201)),
    ("put", "detail", {"name": "Renamed"}, expect(401, 403, 403, 200)),
    ("patch", "detail", {"name": "Renamed"}, expect(401, 403, 403, 200)),
    ("delete", "detail", None, expect(401, 403, 403, 204)),
]


@pytest.mark.parametrize(("method", "target", "data", "statuses"), TAG_MATRIX)
@pytest.mark.parametrize("role", ROLES)
def test_tags_permissions(
    clients: dict[str, APIClient], role: str, method: str, target: str, data: dict | None, statuses: dict
) -> None:
    tag = TagFactory.create(name="django")
    url = "/api/v1/tags/" if target == "list" else f"/api/v1/tags/{tag.slug}/"
    response = getattr(clients[role], method)(url, data, format="json")
    assert response.status_code == statuses[role], response.content
    assert Tag.objects.filter(pk=tag.pk).exists() == (response.status_code != 204)
    if method == "post":
        assert Tag.objects.filter(slug="brand-new").exists() == (response.status_code == 201)


USER_MATRIX = [
    ("get", "profile", expect(200, 200, 200, 200)),
    ("get", "me", expect(401, 200, 200, 200)),
    ("put", "profile", expect(401, 405, 405, 405)),
    ("patch", "profile", expect(401, 405, 405, 405)),
    ("delete", "profile", expect(401, 405, 405, 405)),
    ("post", "me", expect(401, 405, 405, 405)),
]


@pytest.mark.parametrize(("method", "target", "statuses"), USER_MATRIX)
@pytest.mark.parametrize("role", ROLES)
def test_users_permissions(
    clients: dict[str, APIClient], author: User, role: str, method: str, target: str, statuses: dict
) -> None:
    url = "/api/v1/users/me/" if target == "me" else f"/api/v1/users/{author.username}/"
    data = None if method == "get" else {"bio": "hacked", "is_staff": True}
    response = getattr(clients[role], method)(url, data, format="json")
    assert response.status_code == statuses[role], response.content
    author.refresh_from_db()
    assert (author.bio, author.is_staff) == ("", False)


def test_someone_elses_draft_is_404_for_writes_too(clients: dict[str, APIClient], author: User) -> None:
    draft = PostFactory.create(author=author, draft=True)
    assert clients["other"].patch(f"/api/v1/posts/{draft.slug}/", {"title": "x"}, format="json").status_code == 404
    assert clients["other"].delete(f"/api/v1/posts/{draft.slug}/").status_code == 404
    assert Post.objects.filter(pk=draft.pk).exists()
