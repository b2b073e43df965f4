"""Anchors: the chain head written outside the database, so truncating or re-chaining the log
shows even to someone who holds every database privilege.

`manage.py audit_anchor --to PATH` (from cron) appends one JSON line:

    {"at": "2026-12-01T02:00:00+00:00", "seq": 4021, "checksum": "<head seal checksum>", "mac": "<hex>"}

`mac` = HMAC-SHA256(AUDIT_CHAIN_KEY, "acountee-audit-anchor\\n" + at + "\\n" + seq + "\\n" + checksum), so
a line cannot be edited or made up without the key. `verify_audit --anchors PATH` then checks
that the database still holds every anchored seal with the anchored checksum; with the chain
itself verified, everything up to each anchor is as it was when anchored.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.db import connection

from audit.chain import configured_key, keyed_checksum


class NothingToAnchor(Exception):
    pass


def anchor_mac(key: str, *, at: str, seq: int, checksum: str) -> str:
    return keyed_checksum(key, f"acountee-audit-anchor\n{at}\n{int(seq)}\n{checksum}")


def record_anchor(path: Path) -> dict[str, Any]:
    """Append the current head seal to `path` (created if missing); returns the line written."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT seq, checksum FROM audit_seals ORDER BY seq DESC LIMIT 1")
        head = cursor.fetchone()
    if head is None:
        raise NothingToAnchor("the audit log has no seal yet")
    at = datetime.now(UTC).isoformat(timespec="seconds")
    line = {"at": at, "seq": head[0], "checksum": head[1]}
    line["mac"] = anchor_mac(configured_key(), at=at, seq=head[0], checksum=head[1])
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(line) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return line


def check_anchors(path: Path, *, key: str) -> list[Any]:
    """Problems (audit.verification.BrokenEntry) for the anchors in `path`. Runs inside the
    caller's transaction (verify_chain's snapshot)."""
    from audit.verification import BrokenEntry

    broken: list[BrokenEntry] = []
    anchors: list[tuple[int, str]] = []
    for text in path.read_text(encoding="utf-8").splitlines():
        if not text.strip():
            continue
        try:
            line = json.loads(text)
            at, seq, checksum, mac = str(line["at"]), int(line["seq"]), str(line["checksum"]), str(line["mac"])
        except (ValueError, KeyError, TypeError):
            broken.append(BrokenEntry(id=None, seal_seq=None, problem="anchor_forged"))
            continue
        if not key or anchor_mac(key, at=at, seq=seq, checksum=checksum) != mac:
            broken.append(BrokenEntry(id=None, seal_seq=seq, problem="anchor_forged"))
            continue
        anchors.append((seq, checksum))
    if not anchors:
        return broken
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT seq, checksum FROM audit_seals WHERE seq = ANY(%s)", [sorted({seq for seq, _ in anchors})]
        )
        found = dict(cursor.fetchall())
    for seq, checksum in anchors:
        if seq not in found:
            broken.append(BrokenEntry(id=None, seal_seq=seq, problem="anchor_missing"))
        elif found[seq] != checksum:
            broken.append(BrokenEntry(id=None, seal_seq=seq, problem="anchor_changed"))
    return broken
