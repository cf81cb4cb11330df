"""Choose, once per request, where its reads go, and pin a client that just wrote to the primary.

A safe request (GET, HEAD, OPTIONS) reads from a replica through ``project.replicas.router``. A request
that writes, and any unsafe one (POST, PUT, PATCH, DELETE), reads from the primary and leaves a
signed, HttpOnly, SameSite cookie (only when it succeeded) that keeps the same browser's reads on the primary for
``REPLICA_PIN_SECONDS``: the redirect after a new comment shows the comment, whatever the replica's
lag. The cookie is signed with a timestamp, so a client cannot pin itself for longer than that.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase

from project.replicas.router import ReadScope, read_scope

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
PIN_SALT = "project.replicas.middleware.ReplicaRoutingMiddleware"


def is_pinned(request: HttpRequest) -> bool:
    """Say whether this client wrote within ``REPLICA_PIN_SECONDS`` (its pin cookie is valid)."""
    pin = request.get_signed_cookie(
        settings.REPLICA_PIN_COOKIE_NAME, default=None, salt=PIN_SALT, max_age=settings.REPLICA_PIN_SECONDS
    )
    return pin is not None


class ReplicaRoutingMiddleware:
    """Open a read scope per request: replica reads for safe, unpinned requests; primary otherwise."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.async_mode:
            return self.__acall__(request)
        safe = request.method in SAFE_METHODS
        pinned = not safe or is_pinned(request)
        with read_scope(replica_by_default=not pinned, pinned=pinned) as scope:
            response = self.get_response(request)
        self._pin(request, response, scope)
        return response

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        safe = request.method in SAFE_METHODS
        pinned = not safe or is_pinned(request)
        get_response: Callable[[HttpRequest], Awaitable[HttpResponseBase]] = self.get_response
        with read_scope(replica_by_default=not pinned, pinned=pinned) as scope:
            response = await get_response(request)
        self._pin(request, response, scope)
        return response

    def _pin(self, request: HttpRequest, response: HttpResponseBase, scope: ReadScope) -> None:
        if settings.REPLICA_PIN_SECONDS <= 0 or not (scope.wrote or request.method not in SAFE_METHODS):
            return
        if response.status_code >= 400:
            # A refused write (403, 401, 429, a 400 form) changed nothing worth reading back, and
            # pinning it would let any client move its reads to the primary at will.
            return
        response.set_signed_cookie(
            settings.REPLICA_PIN_COOKIE_NAME,
            "1",
            salt=PIN_SALT,
            max_age=settings.REPLICA_PIN_SECONDS,
            httponly=True,
            samesite="Lax",
            secure=settings.SESSION_COOKIE_SECURE,
        )
