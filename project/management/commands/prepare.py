"""Prepare the database for serving: migrate once, create the cache table, seed demo data if asked.

Every copy of the web service runs this when it starts (``deploy/web-entrypoint.sh``). On PostgreSQL
the copies take turns under a session advisory lock, so ``docker compose up --scale web=3`` applies
each migration once and the later copies find nothing left to do. Without the lock, copies starting
together on an empty database race to create the same tables and all but one crash. On SQLite (one
machine, ``make run``) there is nothing to race with and no lock is taken.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections

# One fixed 64-bit key for the whole site; advisory locks are per database, so sites never collide.
PREPARE_LOCK_KEY = int.from_bytes(hashlib.sha256(b"django-at-scale:prepare").digest()[:8], "big", signed=True)


@contextmanager
def prepare_lock(alias: str = DEFAULT_DB_ALIAS, poll_seconds: float = 0.5) -> Iterator[None]:
    """Hold the site's prepare lock on ``alias`` (PostgreSQL only); other holders wait their turn.

    Waiting copies poll with ``pg_try_advisory_lock`` instead of blocking in ``pg_advisory_lock``:
    a blocked statement keeps a snapshot open, and ``CREATE INDEX CONCURRENTLY`` in the holder's
    migrations waits for every open snapshot to finish, which would deadlock the two copies.
    """
    connection = connections[alias]
    if connection.vendor != "postgresql":
        yield
        return
    while True:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [PREPARE_LOCK_KEY])
            if cursor.fetchone()[0]:
                break
        time.sleep(poll_seconds)
    try:
        yield
    finally:
        # Migrations may have closed the connection; a closed session has released the lock already.
        if connection.connection is not None:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [PREPARE_LOCK_KEY])


class Command(BaseCommand):
    help = "Migrate (once, under a lock on PostgreSQL), create the cache table, and seed demo data if asked."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--seed-demo", action="store_true", help="seed the demo data when the database has no post yet"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        verbosity = options["verbosity"]
        with prepare_lock():
            call_command("migrate", interactive=False, verbosity=verbosity)
            call_command("createcachetable", verbosity=verbosity)
            if options["seed_demo"]:
                # --seed-demo (SEED_DEMO_ON_FIRST_START=1) is the operator's explicit consent.
                call_command("seed_demo", if_empty=True, allow_production=True, verbosity=verbosity)
