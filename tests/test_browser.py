"""A newcomer's path through the site in Debian's Chromium: sign up, read a post, comment, log out."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from blog.models import Comment
from blog.tests.factories import PostFactory, TagFactory

# The live server reads GET pages from the replica; after each write (sign-up, comment, log-out)
# the pin cookie keeps this browser on the primary, which is what lets the next page show the write.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, databases=["default", "replica"])]

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# Flags that keep Chromium from reaching for the network this machine does not have.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: run deploy/apt-install.sh chromium=chromium (make test does)")
    # Playwright's sync API runs an event loop in this thread; the ORM calls in these tests are
    # plain synchronous setup, so tell Django that is fine.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
    del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 390, "height": 844})  # a phone-sized screen
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def test_sign_up_read_comment_and_log_out(page: Any, live_server: Any, tmp_path: Any) -> None:
    post = PostFactory.create(title="Learn the way of the index", tags=[TagFactory.create(name="indexes")])
    page.goto(live_server.url + "/")
    page.get_by_role("link", name="Sign up").click()
    page.get_by_label("Username").fill("newcomer")
    page.locator("#id_password1").fill("a-long-test-password")
    page.locator("#id_password2").fill("a-long-test-password")
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url(live_server.url + "/")
    assert page.get_by_role("link", name="newcomer").is_visible()

    page.get_by_role("link", name="Learn the way of the index").click()
    page.get_by_label("Your comment").fill("Which index serves the tag page?")
    page.get_by_role("button", name="Post comment").click()
    page.wait_for_url(f"**{post.get_absolute_url()}#comment-*")
    assert page.locator(".comment .body").inner_text() == "Which index serves the tag page?"
    assert Comment.objects.get().author.username == "newcomer"
    page.screenshot(path=str(tmp_path / "post.png"), full_page=True)

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(live_server.url + "/")
    assert page.get_by_role("link", name="Log in").is_visible()
    assert page.get_by_role("link", name="indexes").is_visible()
