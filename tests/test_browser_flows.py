"""The site's user flows (browse, search, comment, write, reset a password, the admin) in Debian's Chromium, at desktop and phone sizes.

Each page a flow visits is checked the same way (``checked``): no console error, no failed
request, nothing wider than the viewport, and no serious or critical axe-core violation (axe from
``tests/axe``, installed by ``make test``). Third-party pages (Swagger UI, Redoc) are not checked
with axe: their markup is not this project's to fix.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core import mail

from blog.models import Comment, Post
from blog.tests.factories import CommentFactory, PostFactory, TagFactory
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS
from users.tests.factories import PASSWORD, StaffFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, databases=["default", "replica"])]

AXE = Path(__file__).parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
LONG_WORD = "Supercalifragilistic" * 8
LONG_URL = "https://example.com/" + "a-very-long-path-segment/" * 12


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: run deploy/apt-install.sh chromium=chromium (make test does)")
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run make test (it installs tests/axe with npm ci)")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
    del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


class Checked:
    """A page that records console errors and failed requests, and checks layout and accessibility."""

    def __init__(self, page: Any, base: str) -> None:
        self.page, self.base = page, base
        self.problems: list[str] = []
        self.expect_error = False
        page.on("console", self.on_console)
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on("requestfailed", self.request_failed)
        page.on("response", self.on_response)

    def request_failed(self, request: Any) -> None:
        # A request the browser itself abandoned because the page navigated on (the favicon of a
        # page left at once) is not a failure of the site; anything else is.
        if request.failure != "net::ERR_ABORTED":
            self.problems.append(f"failed: {request.url} ({request.failure})")

    def on_console(self, message: Any) -> None:
        if message.type == "error" and not self.expect_error:
            self.problems.append(f"console: {message.text}")

    def on_response(self, response: Any) -> None:
        if response.status >= 400 and not self.expect_error:
            self.problems.append(f"{response.status}: {response.url}")

    def goto(self, path: str) -> None:
        self.page.goto(self.base + path)
        self.check()

    def check(self) -> None:
        """Fail on anything recorded so far, a page wider than the viewport, or a serious axe violation."""
        page = self.page
        page.wait_for_load_state("load")
        assert not self.problems, self.problems
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{page.url} is {overflow}px wider than the viewport"
        page.add_script_tag(path=str(AXE))
        violations = page.evaluate(
            """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
                 .filter(v => ['serious', 'critical'].includes(v.impact))
                 .map(v => `${v.id}: ${v.nodes.map(n => n.target.join(' ')).join(', ')}`)"""
        )
        assert violations == [], f"{page.url}: {violations}"


@pytest.fixture(params=list(SIZES))
def site(request: Any, browser: Any, live_server: Any) -> Iterator[Checked]:
    # bypass_csp: axe is injected as a script tag; the site's own pages load no inline script.
    context = browser.new_context(viewport=SIZES[request.param], bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield Checked(page, live_server.url)
    context.close()


def log_in(site: Checked, username: str) -> None:
    site.page.goto(site.base + "/accounts/login/")
    site.page.get_by_label("Username").fill(username)
    site.page.get_by_label("Password").fill(PASSWORD)
    site.page.get_by_role("button", name="Log in").click()
    site.page.wait_for_url(site.base + "/")


def test_visitor_browses_and_searches(site: Checked) -> None:
    tag = TagFactory.create(name="indexes")
    author = UserFactory.create(username="ada", display_name="Ada Lovelace", bio="Writes about engines.")
    older = PostFactory.create(title="An older post", author=author, tags=[tag])
    post = PostFactory.create(
        title=f"Indexes {LONG_WORD}",
        author=author,
        tags=[tag],
        body=f"## Why\n\nSee {LONG_URL} and [the docs]({LONG_URL}).\n\n```python\nprint('{LONG_WORD}')\n```",
    )
    CommentFactory.create(post=post, body=f"Long link: {LONG_URL}")
    site.goto("/")
    assert "See https://example.com" in site.page.locator(".excerpt").first.inner_text()
    site.goto(post.get_absolute_url())
    assert site.page.locator('.body a[rel="nofollow ugc noopener"]').count() == 1
    assert site.page.locator('a[rel="prev"]').get_attribute("href") == older.get_absolute_url()
    site.goto(tag.get_absolute_url())
    site.goto(author.get_absolute_url())
    assert site.page.get_by_role("heading", name="Posts by Ada Lovelace").is_visible()
    site.goto("/")
    site.page.get_by_label("Search posts").fill("indexes")
    site.page.get_by_label("Search posts").press("Enter")
    site.page.wait_for_url("**/search/?q=indexes")
    site.check()
    assert site.page.locator(".post-summary").count() == 1
    site.goto("/search/?q=nothing-matches-this")
    assert site.page.get_by_text("No posts match those words.").is_visible()
    site.expect_error = True  # the 404 itself (and the console's note of it) is the point
    site.goto("/no/such/page/")
    assert site.page.get_by_role("heading", name="Page not found").is_visible()


def test_reader_signs_up_comments_edits_and_deletes_the_comment(site: Checked) -> None:
    post = PostFactory.create(title="Learn the way of the index")
    site.goto("/accounts/signup/")
    site.page.get_by_label("Username").fill("newcomer")
    site.page.locator("#id_password1").fill("a-long-test-password")
    site.page.locator("#id_password2").fill("a-long-test-password")
    site.page.get_by_role("button", name="Create account").click()
    site.page.wait_for_url(site.base + "/")
    site.check()
    assert site.page.get_by_text("Welcome, newcomer").is_visible()

    site.goto(post.get_absolute_url())
    site.page.get_by_label("Your comment").fill("Which **index** serves it?")
    site.page.get_by_role("button", name="Post comment").click()
    site.page.wait_for_url(f"**{post.get_absolute_url()}#comment-*")
    site.check()
    assert site.page.locator(".comment .body strong").inner_text() == "index"

    site.page.locator(".comment").get_by_role("link", name="Edit").click()
    site.check()
    site.page.get_by_label("Your comment").fill("Which index serves the tag page?")
    site.page.get_by_role("button", name="Save comment").click()
    site.page.wait_for_url(f"**{post.get_absolute_url()}#comment-*")
    site.check()
    assert site.page.locator(".comment .body").inner_text() == "Which index serves the tag page?"

    site.page.locator(".comment").get_by_role("link", name="Delete").click()
    site.check()
    site.page.get_by_role("button", name="Delete the comment").click()
    site.page.wait_for_url(f"**{post.get_absolute_url()}#comments")
    site.check()
    assert not Comment.objects.exists()

    site.goto("/accounts/logout/")
    site.page.get_by_role("button", name="Log out").last.click()
    site.page.wait_for_url(site.base + "/")
    site.check()
    assert site.page.get_by_text("You are logged out.").is_visible()


def test_author_writes_previews_publishes_edits_and_unpublishes(site: Checked) -> None:
    author = UserFactory.create(username="writer")
    TagFactory.create(name="django")
    log_in(site, "writer")
    site.goto("/dashboard/")
    site.page.get_by_role("link", name="New post").first.click()
    site.check()
    site.page.get_by_label("Title").fill(f"My first {LONG_WORD}")
    site.page.get_by_label("Body (Markdown)").fill(f"# Hello\n\nSome *Markdown* and {LONG_URL}.")
    site.page.get_by_label("django").check()
    site.page.get_by_role("button", name="Preview").click()
    site.check()
    assert site.page.locator(".preview .body h2").inner_text() == "Hello"
    site.page.get_by_role("button", name="Save draft").click()
    site.page.wait_for_url("**/edit/")
    site.check()
    post = Post.objects.get(author=author)
    assert post.status == "draft" and [t.name for t in post.tags.all()] == ["django"]

    site.page.get_by_role("button", name="Publish").click()
    site.page.wait_for_url(f"**{post.get_absolute_url()}")
    site.check()
    assert site.page.get_by_text("Your post is published.").is_visible()

    site.page.locator(".post .meta").get_by_role("link", name="Edit").click()
    site.page.get_by_label("Title").fill("Retitled")
    site.page.get_by_role("button", name="Save", exact=True).click()
    site.page.wait_for_url(f"**{post.get_absolute_url()}")
    site.check()
    assert site.page.get_by_role("heading", name="Retitled").is_visible()

    site.goto(f"/posts/{post.slug}/edit/")
    site.page.get_by_role("button", name="Unpublish").click()
    site.page.wait_for_url("**/edit/")
    site.check()
    post.refresh_from_db()
    assert post.status == "draft"
    site.goto("/dashboard/")
    assert site.page.locator(".own-posts .badge").inner_text() == "Draft"
    site.goto("/accounts/profile/")


def test_password_reset_through_the_mail_it_sends(site: Checked) -> None:
    UserFactory.create(username="forgetful", email="forgetful@example.com")
    site.goto("/accounts/login/")
    site.page.get_by_role("link", name="Forgot your password?").click()
    site.check()
    site.page.get_by_label("Email").fill("forgetful@example.com")
    site.page.get_by_role("button", name="Send the link").click()
    site.page.wait_for_url("**/password-reset/sent/")
    site.check()
    (message,) = mail.outbox
    link = re.search(r"http://\S+/accounts/reset/\S+", str(message.body))
    assert link
    site.page.goto(link.group(0))
    site.check()
    site.page.locator("#id_new_password1").fill("a-new-long-password-42")
    site.page.locator("#id_new_password2").fill("a-new-long-password-42")
    site.page.get_by_role("button", name="Set the password").click()
    site.page.wait_for_url("**/reset/done/")
    site.check()


def test_staff_in_the_admin(site: Checked) -> None:
    StaffFactory.create(username="boss")
    PostFactory.create(title=f"Admin {LONG_WORD}", tags=[TagFactory.create(name="admin")])
    log_in(site, "boss")
    for path in [
        "/admin/",
        "/admin/blog/post/",
        "/admin/blog/comment/",
        "/admin/users/user/",
        "/admin/performance/",
    ]:
        site.goto(path)


@pytest.mark.xfail(
    strict=True,
    reason="known: the tag inline's select2 combobox (built by the admin's JS) and the inline's DELETE "
    "checkbox have no accessible name yet (axe aria-input-field-name, label); the page no longer overflows",
)
def test_staff_post_change_form_is_axe_clean(site: Checked) -> None:
    StaffFactory.create(username="boss")
    post = PostFactory.create(title=f"Admin {LONG_WORD}", tags=[TagFactory.create(name="admin")])
    log_in(site, "boss")
    site.goto(f"/admin/blog/post/{post.pk}/change/")
