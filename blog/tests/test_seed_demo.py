"""The seed_demo command: scales, tops up when re-run, and refuses bad arguments."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from blog.models import Comment, Post, PostTag, Tag
from users.models import User

pytestmark = pytest.mark.django_db


def test_seed_demo_creates_posts_tags_comments_and_a_staff_login(capsys: pytest.CaptureFixture[str]) -> None:
    call_command("seed_demo", "--allow-production", posts=50, authors=3, comments_per_post=2)
    out = capsys.readouterr().out
    assert "Log in to the admin as demo / demo-password" in out
    assert Post.objects.count() == 50
    assert Post.objects.filter(status="draft").count() == 5  # one in ten
    assert Post.objects.published().count() == 45
    assert Tag.objects.count() == 30
    assert PostTag.objects.count() >= 50
    assert not PostTag.objects.filter(post__status="published", listed_since__isnull=True).exists()
    assert not PostTag.objects.filter(post__status="draft", listed_since__isnull=False).exists()
    assert Comment.objects.exists()
    staff = User.objects.get(username="demo")
    assert staff.is_staff and staff.check_password("demo-password")
    assert User.objects.filter(username__startswith="author").count() == 3


def test_seed_demo_tops_up_when_re_run() -> None:
    call_command("seed_demo", "--allow-production", posts=20, authors=2)
    call_command("seed_demo", "--allow-production", posts=20, authors=2)
    assert Post.objects.count() == 20
    call_command("seed_demo", "--allow-production", posts=30, authors=2)
    assert Post.objects.count() == 30
    assert sorted(Post.objects.values_list("slug", flat=True)) == sorted(f"demo-{n}" for n in range(1, 31))
    assert User.objects.count() == 3


def test_seed_demo_if_empty_leaves_existing_data_alone(capsys: pytest.CaptureFixture[str]) -> None:
    call_command("seed_demo", "--allow-production", posts=5, authors=1)
    call_command("seed_demo", "--allow-production", posts=50, if_empty=True)
    assert Post.objects.count() == 5
    assert "not seeding" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--posts", "-1"], "expected zero or more"),
        (["--posts", "many"], "expected a whole number"),
        (["--authors", "0"], "--authors must be at least 1"),
        (["--comments-per-post", "1000"], "at most 100"),
    ],
)
def test_seed_demo_refuses_bad_arguments(args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("seed_demo", "--allow-production", *args)
    assert not Post.objects.exists()


def test_seed_demo_writes_believable_markdown_rendered_once_and_the_same_every_time() -> None:
    call_command("seed_demo", "--allow-production", posts=12, authors=2, comments_per_post=2)
    post = Post.objects.get(slug="demo-1")
    assert "#" not in post.title and not post.title.endswith("1")
    assert "## " in post.body and "```" in post.body and "](https://" in post.body
    assert (
        "<h3>" in post.body_html and "<pre><code" in post.body_html and 'rel="nofollow ugc noopener"' in post.body_html
    )
    assert post.excerpt and "##" not in post.excerpt
    comment = Comment.objects.filter(post__slug="demo-1").first() or Comment.objects.first()
    assert comment is not None and comment.body_html.startswith("<p>")
    first = list(Post.objects.order_by("slug").values_list("title", "body"))
    Post.objects.all().delete()
    call_command("seed_demo", "--allow-production", posts=12, authors=2, comments_per_post=2)
    assert list(Post.objects.order_by("slug").values_list("title", "body")) == first
    assert User.objects.filter(username="author1").values_list("display_name", flat=True).get()


def test_seed_demo_never_takes_over_an_existing_demo_account(capsys: Any) -> None:
    from users.tests.factories import UserFactory

    owner = UserFactory.create(username="demo", is_staff=False, password="someone-elses-password")
    real_author = UserFactory.create(username="author1", bio="A real person.")
    call_command("seed_demo", "--allow-production", posts=10, authors=2)
    owner.refresh_from_db()
    assert (owner.is_staff, owner.is_superuser) == (False, False)
    assert owner.check_password("someone-elses-password")
    out = capsys.readouterr().out
    assert "An account named 'demo' already exists: left unchanged." in out
    assert "demo-password" not in out
    # The real author1 gets no demo posts; the demo author author2 gets them all.
    assert not Post.objects.filter(author=real_author).exists()
    assert set(Post.objects.values_list("author__username", flat=True)) == {"author2"}


def test_seed_demo_refuses_to_run_with_debug_off_unless_told(settings: Any) -> None:
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DJANGO_DEBUG is off: seed_demo creates a staff account"):
        call_command("seed_demo", posts=1, authors=1)
    assert not User.objects.exists()
