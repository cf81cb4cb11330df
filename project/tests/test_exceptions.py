"""A service's refusal gets one HTTP status everywhere: 403, 404, 409, else 400."""

from __future__ import annotations

import pytest
from django.test import Client

from project import exceptions
from project.api_policies import exception_handler


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (exceptions.NotPermitted("Only staff may rename tags."), 403, "permission_denied"),
        (exceptions.NotFound("No such draft."), 404, "not_found"),
        (exceptions.Conflict("Comments are open on published posts only."), 409, "conflict"),
        (exceptions.ApplicationError("That title is reserved."), 400, "invalid"),
    ],
)
def test_the_api_answers_each_refusal_with_its_status_code_and_message(
    error: exceptions.ApplicationError, status: int, code: str
) -> None:
    response = exception_handler(error, {})
    assert response is not None
    assert response.status_code == status
    assert response.data == {"status": status, "code": code, "detail": error.message}


@pytest.mark.urls("project.tests.urls_application_errors")
@pytest.mark.parametrize(
    ("name", "status", "shown"),
    [
        ("not-permitted", 403, None),
        ("not-found", 404, None),
        ("conflict", 409, "Comments are open on published posts only."),
        ("refused", 400, "That title is reserved."),
    ],
)
@pytest.mark.django_db
def test_a_page_answers_each_refusal_with_its_status(client: Client, name: str, status: int, shown: str | None) -> None:
    response = client.get(f"/refuse/{name}")
    assert response.status_code == status
    if shown:
        assert shown in response.content.decode()


def test_a_subclass_takes_its_parents_status_and_an_empty_message_the_default() -> None:
    class Locked(exceptions.Conflict):
        pass

    assert exceptions.http_status(Locked()) == 409
    assert Locked().message == exceptions.Conflict.default_message
