"""The 503 of a database outage: which errors count, and the two shapes of the answer."""

from __future__ import annotations

import json

import psycopg
import pytest
from django.db import OperationalError
from django.http import HttpResponse
from django.test import RequestFactory
from psycopg_pool import PoolTimeout

from project.outages import DatabaseOutageMiddleware, is_database_outage, server_error

MIDDLEWARE = DatabaseOutageMiddleware(lambda request: HttpResponse())


def wrapped(cause: BaseException) -> OperationalError:
    """Wrap ``cause`` the way Django's database layer does."""
    try:
        raise OperationalError(str(cause)) from cause
    except OperationalError as exc:
        return exc


@pytest.mark.parametrize(
    "cause",
    [
        PoolTimeout("couldn't get a connection after 3.00 sec"),
        psycopg.OperationalError("connection refused"),  # raised by the client: no SQLSTATE
        psycopg.errors.AdminShutdown("terminating connection due to administrator command"),
        psycopg.errors.CannotConnectNow("the database system is starting up"),
        psycopg.errors.TooManyConnections("sorry, too many clients already"),
    ],
)
def test_connection_level_failures_are_outages(cause: BaseException) -> None:
    assert is_database_outage(wrapped(cause)) is True


@pytest.mark.parametrize(
    "cause",
    [
        psycopg.errors.QueryCanceled("canceling statement due to statement timeout"),
        psycopg.errors.DeadlockDetected("deadlock detected"),
        psycopg.errors.UniqueViolation("duplicate key value"),
    ],
)
def test_failures_of_one_query_are_not_outages(cause: BaseException) -> None:
    assert is_database_outage(wrapped(cause)) is False


def test_an_api_request_gets_the_api_error_shape_with_retry_after() -> None:
    request = RequestFactory().post("/api/v1/posts/")
    response = MIDDLEWARE.process_exception(request, wrapped(PoolTimeout("timeout")))
    assert response is not None
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert json.loads(response.content) == {
        "status": 503,
        "code": "database_unavailable",
        "detail": "The database is unavailable. Try again in 5 seconds.",
    }


def test_a_page_gets_the_site_503_page_with_retry_after() -> None:
    request = RequestFactory().get("/dashboard/")
    response = MIDDLEWARE.process_exception(request, wrapped(psycopg.OperationalError("connection refused")))
    assert response is not None
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "Back in a moment" in response.content.decode()


def test_other_errors_are_left_to_the_500_handler() -> None:
    request = RequestFactory().get("/api/v1/posts/")
    assert MIDDLEWARE.process_exception(request, wrapped(psycopg.errors.QueryCanceled())) is None
    try:
        raise ValueError("a bug")
    except ValueError:
        response = server_error(request)
    assert response.status_code == 500
    try:
        raise wrapped(psycopg.OperationalError("server closed the connection unexpectedly"))
    except OperationalError:
        response = server_error(request)
    assert response.status_code == 503
