"""Base model and QuerySet that every app's models inherit (the talk's "wrap Django's classes").

A behaviour added here (approximate counts, replica reads, ...) reaches every model of every app.
"""

from __future__ import annotations

from typing import TypeVar

from django.db import models
from django.utils import timezone

_M = TypeVar("_M", bound=models.Model, covariant=True)

# The query killer keeps this much of a killed statement (pg_stat_activity holds 1 kB by default).
QUERY_TEXT_LENGTH = 4000


class QuerySet(models.QuerySet[_M]):
    """The QuerySet every app's QuerySet subclasses; site-wide query behaviour lives here."""


class Model(models.Model):
    """The abstract base of every model in the project."""

    objects = QuerySet.as_manager()

    class Meta:
        abstract = True


class TimestampedModel(Model):
    """A model that records when each row was created and last changed."""

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


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
        verbose_name = "killed query"
        verbose_name_plural = "killed queries"
        ordering = ["-killed_at", "-id"]
        indexes = [
            # The admin's changelist: newest kills first.
            models.Index(fields=["-killed_at", "-id"], name="killedquery_newest_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} pid {self.pid} on {self.database} after {self.duration}"
