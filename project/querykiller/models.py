"""The query killer's audit trail: one row per statement it stopped."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from project.models import Model

# The killer keeps this much of a killed statement (pg_stat_activity holds 1 kB by default).
QUERY_TEXT_LENGTH = 4000


class KilledQuery(Model):
    """A statement the query killer stopped: the audit trail shown read-only in the admin."""

    class Action(models.TextChoices):
        CANCELLED = "cancelled", "cancelled"
        TERMINATED = "terminated", "terminated (cancel was not enough)"

    killed_at = models.DateTimeField(default=timezone.now)
    database = models.CharField(max_length=100, help_text="The database alias: default, replica, replica2, ...")
    server = models.CharField(max_length=255, help_text="host:port/name of the server the statement ran on.")
    pid = models.IntegerField("backend pid")
    role = models.CharField(max_length=64)
    application_name = models.CharField(max_length=64, blank=True)
    client_address = models.GenericIPAddressField(null=True, blank=True, help_text="Empty for a Unix socket.")
    duration = models.DurationField(help_text="How long the statement had run when it was stopped.")
    query = models.TextField(help_text=f"The statement, truncated to {QUERY_TEXT_LENGTH} characters.")
    action = models.CharField(max_length=10, choices=Action.choices)

    class Meta:
        # The table the model had when it lived in the project app (see migrations/0001_initial.py).
        db_table = "project_killedquery"
        verbose_name = "killed query"
        verbose_name_plural = "killed queries"
        ordering = ["-killed_at", "-id"]
        indexes = [
            # The admin's changelist: newest kills first.
            models.Index(fields=["-killed_at", "-id"], name="killedquery_newest_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} pid {self.pid} on {self.database} after {self.duration}"
