"""Pytest fixtures shared by every app's tests.

The replica aliases are real streaming standbys of the primary. Django's test runner would try to
create a test database on them, which a read-only standby refuses; instead they are declared test
mirrors (so no test flushes them) and then pointed back at the standby server itself, where the
test database appears by replication.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.db import connections


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: Any) -> None:
    """Create the test database on the primary, then connect each replica alias to its standby copy."""
    test_name = connections["default"].settings_dict["NAME"]
    with django_db_blocker.unblock():
        for alias in settings.REPLICA_DATABASES:
            config = copy.deepcopy(settings.DATABASES[alias])
            config["NAME"] = test_name
            config.setdefault("TEST", {})["MIRROR"] = "default"
            connections[alias].close()
            connections[alias].settings_dict = connections.settings[alias] = config


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    """Start every test with an empty cache, so no value computed from another test's rows leaks in.

    The cache is the test Redis database (``REDIS_URL``), so this flushes only that database.
    """
    from django.core.cache import caches

    for alias in settings.CACHES:
        caches[alias].clear()


@pytest.fixture
def celery_worker() -> Iterator[None]:
    """A real Celery worker thread consuming from the test broker (Redis), not eager mode."""
    from project.celery import app

    app.control.purge()
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        yield
