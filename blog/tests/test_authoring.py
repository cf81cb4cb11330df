"""Writing on the site: the editor, comment editing, and who may change what."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from pytest_django import DjangoAssertNumQueries

from blog.models import Comment, Post
from blog.tests.factories import CommentFactory, PostFactory, TagFactory
from users.tests.factories import StaffFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_editor_asks_a_visitor_to_log_in(client: Client) -> None:
    response = client.get(reverse("blog:post-create"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("users:login"))


def test_preview_renders_markdown_and_saves_nothing(client: Client) -> None:
    client.force_login(UserFactory.create())
    response = client.post(
        reverse("blog:post-create"), {"title": "Hello", "body": "# Intro\n\nSome **bold** text.", "action": "preview"}
    )
    assert response.status_code == 200
    assert "<h2>Intro</h2>" in response.content.decode()
    assert "<strong>bold</strong>" in response.content.decode()
    assert not Post.objects.exists()


def test_author_saves_a_draft_then_publishes_edits_and_unpublishes_it(client: Client) -> None:
    author = UserFactory.create()
    tag = TagFactory.create(name="django")
    client.force_login(author)
    response = client.post(
        reverse("blog:post-create"),
        {"title": "My first post", "body": "Draft *body*", "tags": [tag.pk], "action": "draft"},
    )
    post = Post.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("blog:post-edit", args=[post.slug])
    assert (post.status, post.author, post.tag_list, post.body_html) == (
        "draft",
        author,
        [tag],
        "<p>Draft <em>body</em></p>\n",
    )
    assert "Your draft is saved." in client.get(response["Location"]).content.decode()

    edit = reverse("blog:post-edit", args=[post.slug])
    response = client.post(
        edit, {"title": "My first post", "body": "Final body", "tags": [tag.pk], "action": "publish"}
    )
    post.refresh_from_db()
    assert response["Location"] == post.get_absolute_url()
    assert post.is_published and post.excerpt == "Final body"

    client.post(edit, {"title": "Retitled", "body": "Final body", "action": "save"})
    post.refresh_from_db()
    assert (post.title, post.status, list(post.tags.all())) == ("Retitled", "published", [])

    client.post(edit, {"title": "Retitled", "body": "Final body", "action": "unpublish"})
    post.refresh_from_db()
    assert (post.status, post.published_at) == ("draft", None)


def test_editor_shows_errors_with_a_400_and_saves_nothing(client: Client) -> None:
    client.force_login(UserFactory.create())
    response = client.post(reverse("blog:post-create"), {"title": "", "body": "", "action": "publish"})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert not Post.objects.exists()


def test_only_the_author_or_staff_may_edit_or_delete_a_post(client: Client) -> None:
    post = PostFactory.create()
    client.force_login(UserFactory.create())
    assert client.get(reverse("blog:post-edit", args=[post.slug])).status_code == 403
    assert client.post(reverse("blog:post-delete", args=[post.slug])).status_code == 403
    assert Post.objects.filter(pk=post.pk).exists()
    client.force_login(StaffFactory.create())
    assert client.get(reverse("blog:post-edit", args=[post.slug])).status_code == 200
    response = client.post(reverse("blog:post-delete", args=[post.slug]))
    assert response["Location"] == reverse("blog:dashboard")
    assert not Post.objects.filter(pk=post.pk).exists()


def test_post_page_shows_edit_link_to_its_author_only(client: Client) -> None:
    post = PostFactory.create()
    edit = reverse("blog:post-edit", args=[post.slug])
    assert edit not in client.get(post.get_absolute_url()).content.decode()
    client.force_login(post.author)
    assert edit in client.get(post.get_absolute_url()).content.decode()


def test_slug_new_is_never_given_to_a_post(client: Client) -> None:
    client.force_login(UserFactory.create())
    client.post(reverse("blog:post-create"), {"title": "New", "body": "x", "action": "publish"})
    assert Post.objects.get().slug == "new-2"


def test_dashboard_lists_own_posts_and_drafts_with_edit_links(
    client: Client, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    author = UserFactory.create()
    published = PostFactory.create(author=author, title="Out there")
    draft = PostFactory.create(author=author, title="Not yet", draft=True)
    PostFactory.create(title="Someone else's")
    client.force_login(author)
    client.get(reverse("blog:dashboard"))  # the first visit computes the stats
    # 1: the user, 2: a page of the author's own posts (the stats are a cache read)
    with django_assert_num_queries(2):
        html = client.get(reverse("blog:dashboard")).content.decode()
    assert reverse("blog:post-edit", args=[published.slug]) in html
    assert reverse("blog:post-edit", args=[draft.slug]) in html
    assert '<span class="badge">Draft</span>' in html
    assert "Someone else" not in html


def test_writer_edits_and_deletes_their_comment_and_others_may_not(client: Client) -> None:
    comment = CommentFactory.create(body="First thoughts")
    client.force_login(UserFactory.create())
    assert client.get(reverse("blog:comment-edit", args=[comment.pk])).status_code == 403
    assert client.post(reverse("blog:comment-delete", args=[comment.pk])).status_code == 403

    client.force_login(comment.author)
    response = client.post(reverse("blog:comment-edit", args=[comment.pk]), {"body": "Second *thoughts*"})
    assert response["Location"] == f"{comment.post.get_absolute_url()}#comment-{comment.pk}"
    comment.refresh_from_db()
    assert comment.body_html == "<p>Second <em>thoughts</em></p>\n"
    page = client.get(response["Location"]).content.decode()
    assert "Your comment is updated." in page
    assert reverse("blog:comment-delete", args=[comment.pk]) in page

    client.post(reverse("blog:comment-delete", args=[comment.pk]))
    assert not Comment.objects.filter(pk=comment.pk).exists()
