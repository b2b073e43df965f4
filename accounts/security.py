"""Security-relevant events raised by the accounts app (SPEC §7).

This module is the accounts side of the security log: every sign-in, token and role
change calls one of these functions. They write to the log through `audit`'s service so
the accounts app never needs to know how the log is stored.
"""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger("acountee.security")


def record_security_event(kind: str, *, request: Any = None, user: Any = None, **details: Any) -> None:
    try:
        from audit.services import security_event_record
    except ImportError:  # the audit app has not grown its security log yet
        logger.info("security event %s user=%s details=%s", kind, getattr(user, "pk", None), details)
        return
    security_event_record(kind=kind, request=request, user=user, details=details)


def record_owner_access_denied(request: Any) -> None:
    record_security_event(
        "access_denied", request=request, user=request.user,
        path=request.path, method=request.method,
    )
