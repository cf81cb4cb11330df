"""The replica alias is a real PostgreSQL streaming standby of the primary, not a second connection."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connections

from blog.models import Tag
from tests.support import wait_for

pytestmark = pytest.mark.django_db(databases=["default", "replica"], transaction=True)


def in_recovery(alias: str) -> bool:
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT pg_is_in_recovery()")
        return bool(cursor.fetchone()[0])


def server_port(alias: str) -> int:
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT current_setting('port')::int")
        return int(cursor.fetchone()[0])


def test_replica_is_configured_from_replica_database_urls() -> None:
    assert settings.REPLICA_DATABASES == ["replica"]


def test_replica_is_a_hot_standby_on_its_own_server() -> None:
    assert in_recovery("replica") is True
    assert in_recovery("default") is False
    assert server_port("replica") != server_port("default")


def test_data_committed_on_the_primary_appears_on_the_replica() -> None:
    Tag.objects.create(name="replicated", slug="replicated")
    replicated = wait_for(lambda: Tag.objects.using("replica").filter(slug="replicated").first())
    assert replicated.name == "replicated"


def test_the_replica_refuses_writes() -> None:
    from django.db import InternalError, OperationalError

    with pytest.raises((InternalError, OperationalError), match="read-only transaction"):
        Tag.objects.using("replica").create(name="nope", slug="nope")
