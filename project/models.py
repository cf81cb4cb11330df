"""Base model and QuerySet that every app's models inherit (the talk's "wrap Django's classes").

A behaviour added here (approximate counts, replica reads, ...) reaches every model of every app.
"""

from __future__ import annotations

from typing import Self, TypeVar

from django.db import DEFAULT_DB_ALIAS, models

from project.db_routers import replica_alias

_M = TypeVar("_M", bound=models.Model, covariant=True)


class QuerySet(models.QuerySet[_M]):
    """The QuerySet every app's QuerySet subclasses; site-wide query behaviour lives here."""

    def using_replica(self) -> Self:
        """Read from a healthy, caught-up replica: for queries that accept slightly stale data.

        Works anywhere (a task, a command, a POST). Stays on the primary inside a transaction or
        ``primary_db()``, after this request or task wrote, for a pinned client, and when no replica
        is configured or healthy (see ``project.db_routers.replica_alias``).
        """
        return self.using(replica_alias() or DEFAULT_DB_ALIAS)


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
