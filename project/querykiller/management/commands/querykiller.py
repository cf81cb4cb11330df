"""Run the query killer once: for cron users, for demos, and to see what it would kill (``--dry-run``)."""

from __future__ import annotations

import argparse
import math
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from project.querykiller.killer import kill_long_queries


def seconds(value: str) -> float:
    """Parse a positive number of seconds for argparse, refusing anything else with a clear message."""
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {value!r}") from None
    if not math.isfinite(number) or number <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {value!r}")
    return number


class Command(BaseCommand):
    help = (
        "Cancel (then terminate, after the grace period) this site's statements running longer than "
        "QUERY_KILLER_MAX_SECONDS on the primary and every replica, store each kill and e-mail the admins."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="only report what would be killed")
        parser.add_argument(
            "--max-seconds",
            type=seconds,
            default=None,
            help=f"the threshold in seconds (default QUERY_KILLER_MAX_SECONDS, {settings.QUERY_KILLER_MAX_SECONDS:g})",
        )
        parser.add_argument(
            "--grace-seconds",
            type=seconds,
            default=None,
            help=f"how long a cancel may take before the session is terminated (default {settings.QUERY_KILLER_GRACE_SECONDS:g})",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        run = kill_long_queries(
            max_seconds=options["max_seconds"], grace_seconds=options["grace_seconds"], dry_run=options["dry_run"]
        )
        if run.off:
            self.stdout.write(run.off)
            return
        for statement in run.found:
            self.stdout.write(
                f"{'would cancel' if run.dry_run else 'found'} pid {statement.pid} on {statement.database} "
                f"({statement.server}): {statement.seconds:.1f} s, role {statement.role}, "
                f"application {statement.application_name or '-'}: {statement.query[:200]}"
            )
        for row in run.killed:
            self.stdout.write(
                f"{row.action} pid {row.pid} on {row.database} after {row.duration.total_seconds():.1f} s"
            )
        self.stdout.write(run.summary())
        if run.errors:
            raise CommandError(
                "Could not check every database: "
                + "; ".join(f"{alias}: {error}" for alias, error in run.errors.items())
            )
