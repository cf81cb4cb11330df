"""Logging under production settings: what is logged, and what reaches the admins' inbox."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from django.core import mail
from django.test import Client


class Records(logging.Handler):
    """Keep every record a logger handles, so a test can read them."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def disallowed_host_records() -> Iterator[Records]:
    records = Records()
    logger = logging.getLogger("django.security.DisallowedHost")
    logger.addHandler(records)
    yield records
    logger.removeHandler(records)


@pytest.mark.django_db
def test_a_request_for_another_host_is_logged_and_not_mailed(
    client: Client, settings: Any, disallowed_host_records: Records
) -> None:
    settings.ADMINS = [("Operations", "ops@example.com")]
    settings.DEBUG = False

    response = client.get("/", headers={"host": "scanner.example.net"})

    assert response.status_code == 400
    assert [record.levelname for record in disallowed_host_records.records] == ["ERROR"]
    assert "scanner.example.net" in disallowed_host_records.records[0].getMessage()
    assert mail.outbox == []


@pytest.mark.django_db
def test_a_server_error_still_mails_the_admins(settings: Any) -> None:
    """Only DisallowedHost is kept out of the inbox: Django's mail_admins handler still works."""
    settings.ADMINS = [("Operations", "ops@example.com")]
    settings.DEBUG = False

    logging.getLogger("django.request").error("Internal Server Error: /boom", extra={"status_code": 500})

    assert [message.to for message in mail.outbox] == [["ops@example.com"]]
