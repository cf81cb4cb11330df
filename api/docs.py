"""Redoc served with no request leaving the site.

drf-spectacular-sidecar ships Redoc's bundle locally, but the bundle itself loads Redocly's logo
from a CDN for its "API docs by Redocly" credit. ``redoc_bundle`` serves the sidecar's bundle with
that one URL pointed at this site's own icon; ``SPECTACULAR_SETTINGS["REDOC_DIST"]`` names this
view's path, so drf-spectacular's Redoc page loads it. The credit link itself stays.
"""

from __future__ import annotations

import functools
from pathlib import Path

from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse
from django.templatetags.static import static
from django.views.decorators.http import require_safe

REDOC_BUNDLE = "drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js"
REDOCLY_LOGO_URL = "https://cdn.redoc.ly/redoc/logo-mini.svg"


@functools.cache
def local_redoc_bundle() -> bytes:
    """Return the sidecar's Redoc bundle with the CDN logo replaced by the site's favicon (read once)."""
    found = finders.find(REDOC_BUNDLE)
    if not isinstance(found, str):
        raise FileNotFoundError(REDOC_BUNDLE)
    return Path(found).read_text(encoding="utf-8").replace(REDOCLY_LOGO_URL, static("favicon.svg")).encode()


@require_safe
def redoc_bundle(request: HttpRequest) -> HttpResponse:
    """Serve Redoc's standalone bundle, cacheable for a day (it changes only with the sidecar package)."""
    response = HttpResponse(local_redoc_bundle(), content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=86400"
    return response
