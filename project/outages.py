"""Answer 503 with ``Retry-After`` while the primary database is unreachable, never a 500 traceback.

A primary restart (failover, upgrade, crash) makes every request that needs it fail with a
connection error or a pool timeout. That is an outage of a dependency, not a bug: clients should
wait and retry, monitoring should count it apart from real errors, and nobody should be mailed a
traceback per request. ``DatabaseOutageMiddleware`` turns such an exception raised by a view into
a 503 (the site's own page, or the API's error shape under ``/api/``); ``server_error`` does the
same for one raised outside a view (a middleware) and otherwise defers to the 500 handler.

Only connection-level failures count (``is_database_outage``): a query cancelled by
``statement_timeout`` or the query killer, a deadlock or a constraint error stays what it is.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

import psycopg
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from psycopg_pool import PoolTimeout

from project.monitoring.metrics import DATABASE_UNAVAILABLE_RESPONSES

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"
# SQLSTATEs that mean "the server is gone or not accepting connections", not "this query failed":
# class 08 (connection exception), admin/crash shutdown, starting up, too many connections.
OUTAGE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300"})


def is_database_outage(exc: BaseException) -> bool:
    """Tell whether ``exc`` (or an exception it was raised from) means the database is unreachable."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, PoolTimeout):
            return True  # the pool could not get a connection in DATABASE_POOL_TIMEOUT
        if isinstance(current, psycopg.Error):
            sqlstate = current.sqlstate
            if sqlstate is None:
                # Raised by the client, not the server: refused, reset, or closed under us.
                return isinstance(current, psycopg.OperationalError | psycopg.InterfaceError)
            return sqlstate.startswith("08") or sqlstate in OUTAGE_SQLSTATES
        if isinstance(current, InterfaceError) and current.__cause__ is None:
            return True  # Django's own "connection already closed"
        current = current.__cause__ or current.__context__
    return False


def database_unavailable(request: HttpRequest, exc: BaseException) -> HttpResponse:
    """Return the 503 for ``request``: the API's error shape under /api/, the site's page elsewhere."""
    retry_after = settings.DATABASE_OUTAGE_RETRY_AFTER
    DATABASE_UNAVAILABLE_RESPONSES.inc()
    # One line, no traceback: during a restart every request logs this, and the cause is known.
    logger.warning(
        "database unavailable, answering 503: %s %s: %s: %s",
        request.method,
        request.path,
        type(exc).__name__,
        str(exc).strip().splitlines()[0] if str(exc).strip() else "",
    )
    response: HttpResponse
    if request.path.startswith(API_PREFIX):
        response = JsonResponse(
            {
                "status": 503,
                "code": "database_unavailable",
                "detail": f"The database is unavailable. Try again in {retry_after} seconds.",
            },
            status=503,
        )
    else:
        # The page must not touch the database: no user or messages from the session.
        context = {"retry_after": retry_after, "user": AnonymousUser(), "messages": ()}
        try:
            body: str = loader.render_to_string("503.html", context, request=request)
        except Exception:  # a broken template must not turn the 503 into a 500
            logger.exception("Could not render 503.html")
            body = "<h1>Service unavailable</h1><p>Please try again in a few seconds.</p>"
        response = HttpResponse(body, status=503)
    response["Retry-After"] = str(retry_after)
    response["Cache-Control"] = "no-store"
    return response


class DatabaseOutageMiddleware:
    """Turn a database outage raised by a view (DRF's included) into a 503 with ``Retry-After``."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, OperationalError | InterfaceError) and is_database_outage(exception):
            return database_unavailable(request, exception)
        return None


def server_error(request: HttpRequest) -> HttpResponse:
    """``handler500``: a 503 for a database outage raised outside a view, the usual 500 otherwise."""
    exc = sys.exc_info()[1]
    if exc is not None and is_database_outage(exc):
        return database_unavailable(request, exc)
    from project.api_policies import server_error as fallback

    return fallback(request)
