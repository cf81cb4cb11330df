"""Pages that raise each of the services' errors, for ``test_exceptions``; the site's handlers answer."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path

from project import exceptions
from project.urls import urlpatterns as site_urlpatterns

ERRORS = {
    "not-permitted": exceptions.NotPermitted("Only the author or staff may edit this post."),
    "not-found": exceptions.NotFound("No such draft."),
    "conflict": exceptions.Conflict("Comments are open on published posts only."),
    "refused": exceptions.ApplicationError("That title is reserved."),
}


def refuse(request: HttpRequest, name: str) -> HttpResponse:
    raise ERRORS[name]


# The site's own URLs too: its templates link to them.
urlpatterns = [path("refuse/<str:name>", refuse), *site_urlpatterns]
handler403 = "project.api_policies.permission_denied"
handler404 = "project.api_policies.page_not_found"
