"""Demo step for the audit: a security event to look at, and the chain verified (runs last,
after every other step has written its audited rows)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def seed_audit(log: Callable[[str], Any]) -> None:
    from audit.models import SecurityEvent, SecurityEventKind
    from audit.services import security_event_record
    from audit.verification import verify_chain

    if not SecurityEvent.objects.filter(kind=SecurityEventKind.SIGN_IN_FAILED, email="intruder@example.com").exists():
        security_event_record(
            kind=SecurityEventKind.SIGN_IN_FAILED, details={"email": "intruder@example.com", "via": "demo"}
        )
        log("  security event: failed sign-in for intruder@example.com")
    result = verify_chain(limit=5)
    state = "intact" if result.ok else f"BROKEN at entry {result.broken[0].id}"
    log(f"  audit log {state}: {result.checked} entries, {result.seals} seals")
