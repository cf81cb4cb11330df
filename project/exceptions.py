"""The errors services raise when they refuse a request (HackSoft's ``ApplicationError``).

A service says *why* it refused, never *how* to answer: the HTTP status is chosen in one place per
layer, ``project.api_policies.exception_handler`` for the API and
``project.middleware.ApplicationErrorMiddleware`` for HTML pages and the admin, both from
``HTTP_STATUS`` below. Management commands and tasks catch ``ApplicationError`` like any exception.
"""

from __future__ import annotations

from typing import Any


class ApplicationError(Exception):
    """A request a service refuses for a reason the caller can show its user (HTTP 400)."""

    default_message = "The request cannot be carried out."

    def __init__(self, message: str | None = None, *, extra: dict[str, Any] | None = None) -> None:
        self.message = message or self.default_message
        self.extra = extra or {}
        super().__init__(self.message)


class NotPermitted(ApplicationError):
    """The user may not do this to this object (HTTP 403)."""

    default_message = "You do not have permission to perform this action."


class NotFound(ApplicationError):
    """The object the request names does not exist, or the user may not know that it does (HTTP 404)."""

    default_message = "Not found."


class Conflict(ApplicationError):
    """The request is valid but clashes with the object's current state (HTTP 409)."""

    default_message = "The request conflicts with the current state of the resource."


# Most specific first: the first class an error is an instance of gives its status.
HTTP_STATUS: tuple[tuple[type[ApplicationError], int], ...] = (
    (NotPermitted, 403),
    (NotFound, 404),
    (Conflict, 409),
    (ApplicationError, 400),
)


def http_status(error: ApplicationError) -> int:
    """Return the HTTP status both web layers answer ``error`` with."""
    return next(status for cls, status in HTTP_STATUS if isinstance(error, cls))
