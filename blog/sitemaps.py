"""``sitemap.xml``, ``robots.txt`` and ``favicon.ico``: what crawlers and browsers ask for, at any table size.

Django's sitemap framework numbers its pages with a ``Paginator``, which runs ``COUNT(*)`` over
every published post on each request. Here the pages are ranges of post ids instead: the index
reads only the highest id (one step down the primary key), page *n* lists the published posts
with ids in ``((n - 1) * size, n * size]`` (one range of the primary key), so no request counts
or offsets. A range may list fewer than ``size`` posts (drafts, deleted posts); that is allowed.
"""

from __future__ import annotations

import math
from xml.sax.saxutils import escape  # nosec B406 - escapes text we write into XML; parses nothing

from django.conf import settings
from django.db.models import Max
from django.http import Http404, HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.http import require_safe

from blog.models import Post, Tag

XML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'
NAMESPACE = "http://www.sitemaps.org/schemas/sitemap/0.9"


def _xml(body: str) -> HttpResponse:
    return HttpResponse(XML_HEAD + body, content_type="application/xml; charset=utf-8")


@require_safe
def sitemap_index(request: HttpRequest) -> HttpResponse:
    """List the sitemap pages: one of the site's fixed pages and tags, then one per range of post ids."""
    highest = Post.objects.aggregate(highest=Max("id"))["highest"] or 0
    pages = math.ceil(highest / settings.BLOG_SITEMAP_PAGE_SIZE)
    urls = [reverse("blog:sitemap-pages")] + [reverse("blog:sitemap-posts", args=[n]) for n in range(1, pages + 1)]
    entries = "".join(f"<sitemap><loc>{escape(request.build_absolute_uri(url))}</loc></sitemap>\n" for url in urls)
    return _xml(f'<sitemapindex xmlns="{NAMESPACE}">\n{entries}</sitemapindex>\n')


@require_safe
def sitemap_pages(request: HttpRequest) -> HttpResponse:
    """The home page and every tag page."""
    urls = [reverse("blog:home")] + [tag.get_absolute_url() for tag in Tag.objects.only("slug").order_by("slug")]
    entries = "".join(f"<url><loc>{escape(request.build_absolute_uri(url))}</loc></url>\n" for url in urls)
    return _xml(f'<urlset xmlns="{NAMESPACE}">\n{entries}</urlset>\n')


@require_safe
def sitemap_posts(request: HttpRequest, number: int) -> HttpResponse:
    """The published posts whose ids fall in page ``number``'s range, with their last change."""
    size = settings.BLOG_SITEMAP_PAGE_SIZE
    if number < 1:
        raise Http404("Sitemap pages start at 1.")
    posts = (
        Post.objects.published()
        .filter(id__gt=(number - 1) * size, id__lte=number * size)
        .order_by("id")
        .values_list("slug", "updated_at")
    )
    root = request.build_absolute_uri("/")[:-1]
    entries = "".join(
        f"<url><loc>{escape(root + reverse('blog:post', args=[slug]))}</loc>"
        f"<lastmod>{updated_at.date().isoformat()}</lastmod></url>\n"
        for slug, updated_at in posts.iterator(chunk_size=5000)
    )
    return _xml(f'<urlset xmlns="{NAMESPACE}">\n{entries}</urlset>\n')


@require_safe
def robots_txt(request: HttpRequest) -> HttpResponse:
    """Let crawlers read the blog, not the accounts, admin, API or probes; point them at the sitemap."""
    lines = [
        "User-agent: *",
        "Disallow: /accounts/",
        "Disallow: /admin/",
        "Disallow: /api/",
        "Disallow: /dashboard/",
        "Disallow: /search/",
        f"Sitemap: {request.build_absolute_uri(reverse('blog:sitemap'))}",
    ]
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")


@require_safe
def favicon(request: HttpRequest) -> HttpResponse:
    """Send browsers that ask for ``/favicon.ico`` (whatever the page links) to the static icon."""
    return HttpResponsePermanentRedirect(static("favicon.svg"))
