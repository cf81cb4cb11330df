"""Migration operations for big tables that also run on the embedded default's SQLite.

``CREATE INDEX`` blocks every write to the table while it builds, minutes on millions of rows;
PostgreSQL's ``CREATE INDEX CONCURRENTLY`` lets writes go on. Django's ``AddIndexConcurrently``
is PostgreSQL-only, so a migration using it would break ``make run`` on SQLite: this one falls
back to a plain ``CREATE INDEX`` there (a migration using it needs ``atomic = False``).
"""

from __future__ import annotations

from typing import Any

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db.migrations.operations import AddIndex


class AddIndexConcurrentlyOnPostgreSQL(AddIndexConcurrently):
    """Add an index without blocking writes on PostgreSQL; a plain ``AddIndex`` elsewhere."""

    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)
        else:
            AddIndex.database_forwards(self, app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)
        else:
            AddIndex.database_backwards(self, app_label, schema_editor, from_state, to_state)
