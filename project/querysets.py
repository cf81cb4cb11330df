"""Approximate counts for big tables: the planner's estimate instead of ``COUNT(*)``.

``COUNT(*)`` on PostgreSQL visits every matching row (MVCC keeps no row count), so at millions of
rows it costs more than everything else on an admin changelist, and grows with the table.
PostgreSQL's statistics already know roughly how many rows a table or a filter has; for numbering
admin pages "about 5,000,000" is as useful as the exact figure and costs the same at any size
(docs/big-tables.md has the figures).

How :func:`approx_count` counts, on PostgreSQL:

1. One query returns the count capped at ``APPROX_COUNT_THRESHOLD`` (``SELECT count(*) FROM (...
   LIMIT 1000)``: at most a thousand rows are read) and the table's statistics from ``pg_class``.
   Below the threshold the capped count is the answer, exact.
2. Otherwise, unfiltered: ``reltuples`` (rows at the last ANALYZE) scaled to the table's current
   size in pages, as the planner itself does. Filtered: the planner's row estimate for the filtered
   query, from a second query, ``EXPLAIN``. A filtered count asks for the estimate even when the
   capped count made it unnecessary, so a changelist runs the same queries at any table size.
3. A table never analysed (``reltuples = -1``) has no statistics to scale: then it counts exactly.

Other databases (SQLite in the embedded default) always count exactly. ``count()`` stays exact
everywhere except on an :class:`ApproxCountQuerySet`. docs/big-tables.md says how wrong an
estimate can be and when the statistics refresh.
"""

from __future__ import annotations

import functools
import json
from typing import Any, TypeVar

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connections, models

_M = TypeVar("_M", bound=models.Model, covariant=True)

_TABLE_STATISTICS = """
SELECT ({capped_count}), c.reltuples, c.relpages,
       pg_relation_size(c.oid) / current_setting('block_size')::int
FROM pg_class c
WHERE c.oid = %s::regclass
"""


class ApproxCount(int):
    """A row count that says whether it is exact or an estimate (``is_estimate``)."""

    is_estimate: bool

    def __new__(cls, value: int, *, is_estimate: bool) -> ApproxCount:
        count = super().__new__(cls, value)
        count.is_estimate = is_estimate
        return count

    def __str__(self) -> str:  # int's own str() would call the __repr__ below
        return int.__repr__(self)

    def __repr__(self) -> str:
        return f"ApproxCount({int(self)}, is_estimate={self.is_estimate})"


def approx_count(queryset: models.QuerySet[Any], *, threshold: int | None = None) -> ApproxCount:
    """Count ``queryset``'s rows exactly below ``threshold``, else return PostgreSQL's estimate."""
    cap = settings.APPROX_COUNT_THRESHOLD if threshold is None else threshold
    query, using = queryset.query, queryset.db
    connection = connections[using]
    if connection.vendor != "postgresql" or query.is_sliced or query.combinator or cap < 1:
        return ApproxCount(query.get_count(using=using), is_estimate=False)

    # No ordering or joins needed to count. Compiled once for both the capped count, which never
    # reads more than `cap` rows, and the EXPLAIN.
    try:
        sql, params = queryset.order_by().select_related(None).query.get_compiler(using=using).as_sql()
    except EmptyResultSet:  # e.g. pk__in=[]: Django knows the answer without asking
        return ApproxCount(0, is_estimate=False)
    table = connection.ops.quote_name(queryset.model._meta.db_table)
    estimate: float | None = None
    with connection.cursor() as cursor:
        cursor.execute(
            _TABLE_STATISTICS.format(capped_count=f"SELECT count(*) FROM ({sql} LIMIT {int(cap)}) AS capped"),  # nosec B608  # Django's compiled SQL; values are bound parameters
            (*params, table),
        )
        counted, reltuples, relpages, pages_now = cursor.fetchone()
        if query.where:
            cursor.execute(f"{connection.ops.explain_query_prefix(format='json')} {sql}", params)
            plan = cursor.fetchone()[0]
            estimate = (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]["Plan Rows"]
    if estimate is None and relpages > 0 and reltuples >= 0:
        # The planner's own scaling: the density at the last ANALYZE times today's size.
        estimate = reltuples / relpages * pages_now
    if counted < cap:
        return ApproxCount(counted, is_estimate=False)
    if reltuples < 0 or estimate is None:
        # Never analysed (autovacuum has not reached a new table yet): no statistics to trust.
        return ApproxCount(query.get_count(using=using), is_estimate=False)
    # The capped count proved at least `cap` rows, whatever the statistics say.
    return ApproxCount(max(round(estimate), cap), is_estimate=True)


class ApproxCountQuerySet(models.QuerySet[_M]):
    """A QuerySet whose ``count()`` is :func:`approx_count`; ``exact_count()`` still counts.

    Hand it to code that counts only to number pages (Django's admin changelist and paginator);
    keep exact ``count()`` where correctness matters. :func:`with_approx_count` makes one from any
    QuerySet, keeping that QuerySet's own methods.
    """

    def count(self) -> int:
        return approx_count(self)

    def exact_count(self) -> int:
        """Count every matching row with ``COUNT(*)``."""
        return super().count()


@functools.cache
def _approx_count_class(queryset_class: type[models.QuerySet[Any]]) -> type[ApproxCountQuerySet[Any]]:
    return type(f"ApproxCount{queryset_class.__name__}", (ApproxCountQuerySet, queryset_class), {})


def with_approx_count(queryset: models.QuerySet[_M]) -> ApproxCountQuerySet[_M]:
    """Return a copy of ``queryset`` whose ``count()`` is approximate (its other methods unchanged)."""
    if isinstance(queryset, ApproxCountQuerySet):
        return queryset
    clone = queryset.all()
    clone.__class__ = _approx_count_class(type(queryset))
    return clone  # type: ignore[return-value]
