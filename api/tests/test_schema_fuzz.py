"""Fuzz every operation of the OpenAPI schema with schemathesis: no 5xx, every response as documented.

The examples per operation come from ``FUZZ_EXAMPLES`` (default 10, what ``make test`` runs;
``make fuzz-api`` runs more). Requests go in-process through the WSGI application: once as a staff
user with a token, so writes, deletes and every permission branch are reached, and once (half as
many examples) anonymously, so the 401s are checked too. Each operation's examples run inside one
test's database transaction, rolled back afterwards.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from blog.tests.factories import CommentFactory, PostFactory, TagFactory
from users.tests.factories import UserFactory

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


# Loading the schema runs no query (no credentials, no database), so it can happen at collection.
# Django's own WSGI handler, not project.wsgi: importing that marks this whole test process (and the
# subprocesses later tests start) as a web process, with the web's statement_timeout.
application = get_wsgi_application()
schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", application)


@pytest.fixture
def rows(db: None) -> Iterator[None]:
    """A few rows, so lookups by slug or id sometimes find something, in the test's transaction."""
    # Like Django's test client: the WSGI handler must not close the test's connection (and its
    # open transaction) at the end of each request.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    tag = TagFactory.create(name="django")
    post = PostFactory.create(slug="fuzz", tags=[tag])
    CommentFactory.create(post=post)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.mark.fuzz
@pytest.mark.usefixtures("rows")
@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_documented_and_never_with_a_server_error(case: Any) -> None:
    staff = UserFactory.create(username="fuzz-staff", is_staff=True)
    token, _ = Token.objects.get_or_create(user=staff)
    case.call_and_validate(headers={"Authorization": f"Token {token.key}"}, checks=CHECKS)


@pytest.mark.fuzz
@pytest.mark.usefixtures("rows")
@schema.parametrize()
@settings(
    max_examples=max(1, EXAMPLES // 2),
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_anonymous_clients_as_documented(case: Any) -> None:
    case.call_and_validate(checks=CHECKS)
