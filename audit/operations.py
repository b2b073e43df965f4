"""`AuditTrigger(table)`: the one-line migration operation that puts a table under audit.

Every business table gets it in the migration that creates the table:

    from audit.operations import AuditTrigger

    class Migration(migrations.Migration):
        dependencies = [("audit", "0001_initial"), ...]
        operations = [..., AuditTrigger("invoices")]

Columns listed in `exclude_columns` (binary file content) never reach the audit log.
`tests/audit/test_coverage.py` fails when a business table has no trigger.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations


def trigger_sql(table: str, exclude_columns: tuple[str, ...] = ()) -> str:
    # Trigger arguments can only be literals: the excluded columns travel as one list.
    excluded = "'" + ",".join(exclude_columns) + "'"
    return f"""
        DROP TRIGGER IF EXISTS audit_row_change ON "{table}";
        CREATE TRIGGER audit_row_change
            AFTER INSERT OR UPDATE OR DELETE ON "{table}"
            FOR EACH ROW EXECUTE FUNCTION audit_row_change({excluded});
    """


class AuditTrigger(migrations.operations.base.Operation):
    reversible = True
    reduces_to_sql = True

    def __init__(self, table: str, exclude_columns: list[str] | tuple[str, ...] = ()):
        self.table = table
        self.exclude_columns = tuple(exclude_columns)

    def state_forwards(self, app_label: str, state: Any) -> None:
        pass

    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        schema_editor.execute(trigger_sql(self.table, self.exclude_columns))

    def database_backwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        schema_editor.execute(f'DROP TRIGGER IF EXISTS audit_row_change ON "{self.table}";')

    def describe(self) -> str:
        return f"Audit every row change on {self.table}"

    @property
    def migration_name_fragment(self) -> str:
        return f"audit_{self.table}"

    def deconstruct(self) -> tuple[str, list[Any], dict[str, Any]]:
        kwargs: dict[str, Any] = {}
        if self.exclude_columns:
            kwargs["exclude_columns"] = list(self.exclude_columns)
        return self.__class__.__name__, [self.table], kwargs
