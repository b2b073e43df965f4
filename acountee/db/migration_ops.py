"""`unbounded(*operations)`: migration operations that read or rewrite a large table, run without the requests'
statement timeout.

Every connection starts with `statement_timeout = DB_STATEMENT_TIMEOUT_MS` (30 s, acountee/settings.py): right
for a request, wrong for a deploy that builds an index over fifteen million audit entries or backfills a
million invoices (the migration would be cancelled, and the deploy with it). `SET LOCAL` lifts it for the
migration's own transaction only (the project's migrations are atomic), in both directions:

    operations = unbounded(
        migrations.RunSQL(CREATE_INDEX, DROP_INDEX),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    )

The lock timeout stays: a migration still gives up rather than queue behind a long transaction.
"""

from __future__ import annotations

from django.db import migrations
from django.db.migrations.operations.base import Operation

LIFT = "SET LOCAL statement_timeout = 0"


def unbounded(*operations: Operation) -> list[Operation]:
    # Forwards the first operation lifts the timeout, backwards (operations undone in reverse) the last one does.
    return [
        migrations.RunSQL(LIFT, migrations.RunSQL.noop, elidable=False),
        *operations,
        migrations.RunSQL(migrations.RunSQL.noop, LIFT, elidable=False),
    ]
