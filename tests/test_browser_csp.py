"""Every kind of HTML page works under the Content-Security-Policy with no violation, in Chromium.

The policy (settings.CONTENT_SECURITY_POLICY) allows no inline script. Each page is loaded in
Debian's Chromium with a listener for ``securitypolicyviolation`` events installed before any of
the page's own scripts run; the test then checks the page really rendered (Swagger UI built its
operations, Redoc its menu, the admin its widgets) and that no violation was reported.
"""

from __future__ import annotations

from typing import Any

import pytest

from blog.tests.factories import CommentFactory, PostFactory, TagFactory
from tests.test_browser import browser, page  # noqa: F401  # the shared Chromium fixtures
from users.tests.factories import PASSWORD, StaffFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, databases=["default", "replica"])]

# Installed by Chromium before every document's own scripts; the page's CSP does not apply to it.
LISTEN = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', (event) => {
  window.__violations.push(`${event.violatedDirective} blocked ${event.blockedURI} at ${event.sourceFile}:${event.lineNumber}`);
});
"""

# Each page and a selector that shows it rendered (for the script-built pages, what their script builds).
ANONYMOUS_PAGES = [
    ("/", "h1, .post"),
    ("/accounts/login/", "form"),
    ("/accounts/signup/", "form"),
    ("/api/v1/docs/", ".swagger-ui .opblock"),
    ("/api/v1/redoc/", ".redoc-wrap h1"),
    ("/api/v1/posts/", ".response-info"),  # the browsable API
    ("/admin/login/", "#login-form"),
]
STAFF_PAGES = [
    ("/admin/", "#content-main"),
    ("/admin/blog/post/", "#result_list"),
    ("/admin/blog/post/add/", "#post_form"),
    ("/admin/performance/", "#content"),
    ("/api/v1/posts/", "form"),  # the browsable API with its forms for a staff user
]


def violations_on(tab: Any, url: str, rendered: str) -> list[str]:
    """Load ``url`` in ``tab``, wait until ``rendered`` shows, and return the CSP violations it reported."""
    messages: list[str] = []
    tab.set_default_timeout(60_000)  # the schema behind Swagger UI and Redoc is slow on a busy machine
    tab.on("console", lambda message: messages.append(message.text))
    response = tab.goto(url)
    assert response is not None and response.status == 200, url
    assert "script-src 'self'" in response.headers["content-security-policy"]
    try:
        tab.wait_for_selector(rendered, state="attached")
        tab.wait_for_load_state("networkidle")
    finally:
        found = list(tab.evaluate("window.__violations"))
        found += [text for text in messages if "Content Security Policy" in text]
        print(url, found, messages)  # shown when the test fails
    return found


@pytest.fixture
def content() -> None:
    post = PostFactory.create(title="Indexes under load", tags=[TagFactory.create(name="indexes")])
    CommentFactory.create(post=post)


def test_public_pages_work_under_the_policy(page: Any, live_server: Any, content: None) -> None:  # noqa: F811
    page.add_init_script(LISTEN)
    for path, rendered in ANONYMOUS_PAGES:
        assert violations_on(page, live_server.url + path, rendered) == [], path


def test_admin_and_browsable_api_work_under_the_policy(page: Any, live_server: Any, content: None) -> None:  # noqa: F811
    StaffFactory.create(username="boss")
    page.add_init_script(LISTEN)
    page.goto(live_server.url + "/admin/login/")
    page.locator("#id_username").fill("boss")
    page.locator("#id_password").fill(PASSWORD)
    page.locator("input[type=submit]").click()
    page.wait_for_url(live_server.url + "/admin/")
    for path, rendered in STAFF_PAGES:
        assert violations_on(page, live_server.url + path, rendered) == [], path


def test_an_inline_script_is_blocked_and_reported(page: Any, live_server: Any) -> None:  # noqa: F811
    # The listener is not vacuous: an inline script injected into a page of the site is refused.
    page.add_init_script(LISTEN)
    page.goto(live_server.url + "/accounts/login/")
    page.evaluate(
        """() => { const s = document.createElement('script'); s.textContent = 'window.ran = 1'; document.body.append(s); }"""
    )
    page.wait_for_function("window.__violations.length > 0")
    assert page.evaluate("window.ran") is None
    assert "script-src" in page.evaluate("window.__violations")[0]
