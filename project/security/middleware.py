"""Refuse what no view can handle before any view sees it."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import unquote

from django.core.exceptions import BadRequest
from django.http import HttpRequest, HttpResponse


class RejectNulBytesMiddleware:
    """Answer 400 to a path or query string holding a NUL byte.

    PostgreSQL cannot store or compare a string with NUL in it, so ``/authors/a%00b/`` or
    ``?tag=a%00`` reached the database and came back as a 500 (and a mail to the admins). No URL of
    this site means anything with one, so it is refused here, once, for every view; bodies are
    refused by the form and serializer fields' own ``ProhibitNullCharactersValidator``.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "\x00" in request.path or "\x00" in unquote(request.META.get("QUERY_STRING", "")):
            # handler400 answers in the API's error shape under /api/, with the site's page elsewhere.
            raise BadRequest("The URL contains a NUL byte.")
        return self.get_response(request)
