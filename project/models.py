"""Base model and QuerySet that every app's models inherit (the talk's "wrap Django's classes").

A behaviour added here (approximate counts, replica reads, ...) reaches every model of every app.
"""

from __future__ import annotations

from typing import Any, Self, TypeVar

from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import DEFAULT_DB_ALIAS, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.backends.ddl_references import Statement

from project.querysets import ApproxCount, approx_count
from project.replicas.router import replica_alias

_M = TypeVar("_M", bound=models.Model, covariant=True)


class QuerySet(models.QuerySet[_M]):
    """The QuerySet every app's QuerySet subclasses; site-wide query behaviour lives here."""

    def approx_count(self) -> ApproxCount:
        """Count the rows cheaply: exact below ``APPROX_COUNT_THRESHOLD``, the planner's estimate above.

        ``count()`` stays exact; use this where "about 5,000,000" is good enough (the admin).
        """
        return approx_count(self)

    def using_replica(self) -> Self:
        """Read from a healthy, caught-up replica: for queries that accept slightly stale data.

        Works anywhere (a task, a command, a POST). Stays on the primary inside a transaction or
        ``primary_db()``, after this request or task wrote, for a pinned client, and when no replica
        is configured or healthy (see ``project.replicas.router.replica_alias``).
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


class _OpClassIndex(models.Index):
    """An index of text expressions under a PostgreSQL operator class (``opclass``).

    SQLite, the embedded default, has no operator classes: there the same name becomes a plain
    index of the same expressions. It may serve no search, but it keeps the schema alike on both
    databases, so later migrations (SQLite rebuilds a table to alter it) still run.
    """

    opclass = ""

    def __init__(self, *expressions: Any, **kwargs: Any) -> None:
        super().__init__(
            *(e if isinstance(e, OpClass) else OpClass(e, name=self.opclass) for e in expressions), **kwargs
        )

    def create_sql(
        self, model: type[models.Model], schema_editor: BaseDatabaseSchemaEditor, using: str = "", **kwargs: Any
    ) -> Statement:
        if schema_editor.connection.vendor == "postgresql":
            return super().create_sql(model, schema_editor, using=using, **kwargs)
        plain = [e.get_source_expressions()[0] for e in self.expressions if isinstance(e, OpClass)]
        return models.Index(*plain, name=self.name).create_sql(model, schema_editor, **kwargs)


class TrigramIndex(_OpClassIndex, GinIndex):
    """Index text expressions by trigrams, so ``icontains`` (``UPPER(col) LIKE '%word%'``) uses an index.

    Django's ``icontains`` on PostgreSQL compiles to ``UPPER(col::text) LIKE UPPER(%s)``, so index
    ``Upper("col")`` to serve it. Needs the ``pg_trgm`` extension (``TrigramExtension()`` in a
    migration). On SQLite, a plain index of the same expressions.
    """

    opclass = "gin_trgm_ops"


class PrefixIndex(_OpClassIndex):
    """A B-tree of text expressions that serves prefix ``LIKE`` under any collation.

    ``istartswith`` (an admin ``^field`` search) compiles to ``UPPER(col::text) LIKE UPPER('abc%')``:
    index ``Upper("col")``. A plain B-tree serves ``LIKE 'ABC%'`` only under the C collation;
    ``text_pattern_ops`` compares bytes, so it does under every collation (and still serves ``=``).
    On SQLite, a plain index of the same expressions.
    """

    opclass = "text_pattern_ops"


class SearchVectorIndex(GinIndex):
    """A GIN index of a full-text search expression (``SearchVector(...)``), for ``@@`` matches.

    SQLite has no full-text types: there the same name becomes a plain index of the expression's
    columns, which keeps the schema alike on both databases (see ``_OpClassIndex``).
    """

    def create_sql(
        self, model: type[models.Model], schema_editor: BaseDatabaseSchemaEditor, using: str = "", **kwargs: Any
    ) -> Statement:
        if schema_editor.connection.vendor == "postgresql":
            return super().create_sql(model, schema_editor, using=using, **kwargs)
        fields = sorted({ref.name for ref in _column_refs(self.expressions)})
        return models.Index(fields=fields, name=self.name).create_sql(model, schema_editor, **kwargs)


def _column_refs(expressions: Any) -> list[Any]:
    """Every field an expression tree names (its ``F()`` references)."""
    found: list[Any] = []
    for expression in expressions:
        if isinstance(expression, models.F):
            found.append(expression)
        elif hasattr(expression, "get_source_expressions"):
            found.extend(_column_refs(expression.get_source_expressions()))
    return found
