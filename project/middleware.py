"""Answer a service's refusal on the site's pages and the admin with its HTTP status, in one place.

A view lets ``project.exceptions.ApplicationError`` propagate; this middleware turns it into the
status ``project.exceptions.http_status`` gives it. 403 and 404 are raised again as Django's own
``PermissionDenied`` and ``Http404``, so the site's ``handler403``/``handler404`` pages answer; 409
and 400 render ``application_error.html`` with the service's message. The API answers the same
errors in ``project.api_policies.exception_handler`` (DRF handles them before any middleware).
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from project.exceptions import ApplicationError, http_status


class ApplicationErrorMiddleware:
    """Map ``ApplicationError`` raised by a view to 403, 404, 409 or 400."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, ApplicationError):
            return None
        status = http_status(exception)
        if status == 403:
            raise PermissionDenied(exception.message) from exception
        if status == 404:
            raise Http404(exception.message) from exception
        response = TemplateResponse(request, "application_error.html", {"error": exception}, status=status)
        return response.render()
