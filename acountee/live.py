"""Live updates, the sending half (docs/live.md): a change tells open pages about itself with a PostgreSQL
NOTIFY on `LIVE_CHANNEL`, run in the change's own transaction, so PostgreSQL delivers it at commit and drops
it on rollback. The receiving half (one LISTEN connection per server process, the Server-Sent Events stream)
is `payments.live`.

Payloads are small JSON objects and carry no business data, only what a page needs to decide whether to
re-fetch (through the usual, permission-checked views): `{"kind": "pr", "pr": [ids], "users": "all"}` — these
payment requests changed, whoever may see them should look again; `{"kind": "unread", "users": [ids]}` —
these users' unread notifications changed. Ids are chunked so a payload stays far below NOTIFY's 8000 bytes.

This module lives in the project package (it imports no app) so any app may announce.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection

LIVE_CHANNEL = "acountee_live"
KIND_PR = "pr"
KIND_UNREAD = "unread"
# ids per NOTIFY: 400 ids of up to 10 digits and a comma stay under 4.5 kB (NOTIFY refuses 8000 bytes).
CHUNK = 400

_pending = threading.local()


@contextmanager
def batch() -> Iterator[None]:
    """Collect the announcements of a multi-row operation (bulk approve) and send them when the block
    ends (still inside the transaction): a NOTIFY per kind instead of one per row. Nested blocks join the
    outer one; an exception discards what was collected (the change rolls back anyway)."""
    if getattr(_pending, "items", None) is not None:
        yield
        return
    _pending.items = {KIND_PR: set(), KIND_UNREAD: set()}
    try:
        yield
        items = _pending.items
    finally:
        _pending.items = None
    _send(KIND_PR, items[KIND_PR])
    _send(KIND_UNREAD, items[KIND_UNREAD])


def prs_changed(pr_ids: Iterable[int]) -> None:
    """These payment requests changed (status, chain, amount, content): pages showing them, and the
    counts of whoever may see them, are stale."""
    _announce(KIND_PR, pr_ids)


def unread_changed(user_ids: Iterable[int]) -> None:
    """These users' unread notification counts changed."""
    _announce(KIND_UNREAD, user_ids)


def _announce(kind: str, ids: Iterable[int]) -> None:
    ids = {int(i) for i in ids if i is not None}
    if not ids:
        return
    pending = getattr(_pending, "items", None)
    if pending is not None:
        pending[kind] |= ids
    else:
        _send(kind, ids)


def payload(kind: str, ids: list[int]) -> str:
    body: dict[str, Any] = {"kind": kind}
    if kind == KIND_PR:
        body.update(pr=ids, users="all")
    else:
        body["users"] = ids
    return json.dumps(body, separators=(",", ":"))


def _send(kind: str, ids: set[int]) -> None:
    """NOTIFY in the current transaction (autocommit: a transaction of its own, sent at once)."""
    if not ids:
        return
    ordered = sorted(ids)
    with connection.cursor() as cursor:
        for start in range(0, len(ordered), CHUNK):
            cursor.execute("SELECT pg_notify(%s, %s)", [LIVE_CHANNEL, payload(kind, ordered[start : start + CHUNK])])
