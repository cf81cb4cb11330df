"""Base model and QuerySet that every app's models inherit (the talk's "wrap Django's classes").

A behaviour added here (approximate counts, replica reads, ...) reaches every model of every app.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.backends.ddl_references import Statement

from project.querysets import ApproxCount, approx_count

_M = TypeVar("_M", bound=models.Model, covariant=True)


class QuerySet(models.QuerySet[_M]):
    """The QuerySet every app's QuerySet subclasses; site-wide query behaviour lives here."""

    def approx_count(self) -> ApproxCount:
        """Count the rows cheaply: exact below ``APPROX_COUNT_THRESHOLD``, the planner's estimate above.

        ``count()`` stays exact; use this where "about 5,000,000" is good enough (the admin).
        """
        return approx_count(self)


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


class TrigramIndex(GinIndex):
    """Index text expressions by trigrams, so ``icontains`` (``UPPER(col) LIKE '%word%'``) uses an index.

    Django's ``icontains`` on PostgreSQL compiles to ``UPPER(col::text) LIKE UPPER(%s)``, so index
    ``Upper("col")`` to serve it. Needs the ``pg_trgm`` extension (``TrigramExtension()`` in a
    migration). SQLite, the embedded default, has neither GIN nor trigrams: there the same name
    becomes a plain index of the same expressions. It serves no search, but it keeps the schema alike
    on both databases, so later migrations (SQLite rebuilds a table to alter it) still run.
    """

    def __init__(self, *expressions: Any, **kwargs: Any) -> None:
        super().__init__(
            *(e if isinstance(e, OpClass) else OpClass(e, name="gin_trgm_ops") for e in expressions), **kwargs
        )

    def create_sql(
        self, model: type[models.Model], schema_editor: BaseDatabaseSchemaEditor, using: str = "", **kwargs: Any
    ) -> Statement:
        if schema_editor.connection.vendor == "postgresql":
            return super().create_sql(model, schema_editor, using=using, **kwargs)
        plain = [e.get_source_expressions()[0] for e in self.expressions if isinstance(e, OpClass)]
        return models.Index(*plain, name=self.name).create_sql(model, schema_editor, **kwargs)
