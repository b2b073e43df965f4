from __future__ import annotations

from typing import Any

from django.db import connection

from audit.models import AuditEntry


def audit_mark() -> int:
    return AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0


def entries_since(mark: int, **filters: Any) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(id__gt=mark, **filters).order_by("id"))


def tables_with_audit_trigger() -> dict[str, str]:
    """table → the trigger's excluded-columns argument."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.relname, encode(t.tgargs, 'escape')
              FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
             WHERE t.tgname = 'audit_row_change' AND NOT t.tgisinternal
            """
        )
        return {name: (args or "").replace("\\000", "") for name, args in cursor.fetchall()}
