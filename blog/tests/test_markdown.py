"""Markdown rendering: what readers see, and what a writer cannot sneak into a page."""

from __future__ import annotations

import re

import pytest

from blog.markdown import excerpt_from_html, render_markdown
from blog.tests.factories import PostFactory


def test_markdown_renders_headings_below_the_page_title_lists_and_code() -> None:
    html = render_markdown("# Title\n\n- one\n- two\n\n```python\nprint(1)\n```\n")
    assert "<h2>Title</h2>" in html
    assert "<ul>\n<li>one</li>" in html
    assert '<pre><code class="language-python">print(1)\n</code></pre>' in html


def test_links_are_nofollow_ugc_noopener() -> None:
    html = render_markdown("[site](https://example.com)")
    assert html == '<p><a href="https://example.com" rel="nofollow ugc noopener">site</a></p>\n'


@pytest.mark.parametrize(
    "source",
    [
        "<script>alert(1)</script>",
        "[x](javascript:alert(1))",
        '<img src=x onerror="alert(1)">',
        "<a href='https://e.com' onclick='alert(1)'>x</a>",
    ],
)
def test_script_never_survives(source: str) -> None:
    html = render_markdown(source)
    # Raw HTML comes out as text (escaped); no tag, handler attribute or script URL survives.
    assert "<script" not in html and "<img" not in html and 'href="javascript' not in html
    assert not re.search(r"<[^>]*\son\w+=", html)


def test_excerpt_is_plain_text_cut_at_a_word() -> None:
    html = render_markdown("## Heading\n\nA " + "long " * 100 + "end.")
    excerpt = excerpt_from_html(html, length=40)
    assert excerpt == "Heading A long long long long long long…"


@pytest.mark.django_db
def test_saving_the_body_renders_it_once_and_other_saves_leave_it() -> None:
    post = PostFactory.create(body="**bold**")
    assert post.body_html == "<p><strong>bold</strong></p>\n"
    post.body = "changed"
    post.save(update_fields=["title"])  # the body is not among the saved fields: nothing re-rendered
    post.refresh_from_db()
    assert post.body_html == "<p><strong>bold</strong></p>\n"
    post.body = "*changed*"
    post.save(update_fields=["body"])
    post.refresh_from_db()
    assert (post.body_html, post.excerpt) == ("<p><em>changed</em></p>\n", "changed")
