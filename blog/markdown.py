"""Markdown to safe HTML, once, when a post or comment is saved.

markdown-it-py parses CommonMark (plus tables and strikethrough) with raw HTML turned off, and nh3
(Rust's ammonia) then keeps only an allow-list of tags, attributes and URL schemes, so whatever a
writer types cannot run script in a reader's browser. Every link gets ``rel="nofollow ugc
noopener"``: search engines do not credit links in user content, and a linked page cannot reach
back through ``window.opener``. The result is stored beside the source (``body_html``), so a page
view reads HTML instead of parsing Markdown.
"""

from __future__ import annotations

import functools
import html
import re

import nh3
from markdown_it import MarkdownIt

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "del", "em", "h2", "h3", "h4", "h5", "h6", "hr",
    "i", "li", "ol", "p", "pre", "s", "strong", "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}, "code": {"class"}, "th": {"align"}, "td": {"align"}}
URL_SCHEMES = {"http", "https", "mailto"}
LINK_REL = "nofollow ugc noopener"
EXCERPT_LENGTH = 280

_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


@functools.cache
def _parser() -> MarkdownIt:
    # "js-default" is CommonMark with tables and strikethrough; html=False escapes raw HTML.
    return MarkdownIt("js-default", {"html": False, "linkify": False, "typographer": False})


def render_markdown(text: str) -> str:
    """Return ``text`` (Markdown) as sanitised HTML; a heading ``#`` becomes ``<h2>``, under the page's ``<h1>``."""
    rendered = _parser().render(text)
    # The page title is the only <h1>: shift headings down one level for a sound outline.
    rendered = re.sub(r"<(/?)h([1-5])>", lambda m: f"<{m[1]}h{int(m[2]) + 1}>", rendered)
    return nh3.clean(
        rendered,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel=LINK_REL,
    )


def excerpt_from_html(body_html: str, length: int = EXCERPT_LENGTH) -> str:
    """Return the first ``length`` characters of the text in ``body_html``, cut at a word, as plain text."""
    text = _SPACE.sub(" ", html.unescape(_TAG.sub(" ", body_html))).strip()
    if len(text) <= length:
        return text
    cut = text[:length].rsplit(" ", 1)[0]
    if len(cut) < length // 2:  # one very long word (a URL): cut inside it rather than lose it
        cut = text[:length]
    return f"{cut.rstrip(' ,.;:')}…"
