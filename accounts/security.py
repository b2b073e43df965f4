"""Security-relevant events raised by the accounts app (docs/audit.md).

This module is the accounts side of the security log: every sign-in, token and role
change calls one of these functions. They write to the log through `audit`'s service so
the accounts app never needs to know how the log is stored.
"""

from __future__ import annotations

from typing import Any

from accounts.audit_actions import TABLE as AUDIT_TABLE
from accounts.audit_actions import UserAction
from audit.services import audit_log, security_event_access_denied, security_event_record

# Role grants are also the audit's semantic entries ("why" next to the user_roles row change); a password set
# by an owner is one too, as the users row's entry leaves the password out, and so is the revocation of all a
# user's tokens by a password change or a deactivation (api_tokens has no audit trigger: key hashes stay out).
SEMANTIC_ACTIONS = {
    "role_assigned": UserAction.ASSIGN_ROLE,
    "role_revoked": UserAction.REVOKE_ROLE,
    "password_set": UserAction.SET_PASSWORD,
    "token_revoked": UserAction.REVOKE_API_TOKENS,
}


def record_security_event(kind: str, *, request: Any = None, user: Any = None, **details: Any) -> None:
    security_event_record(kind=kind, request=request, user=user, details=details)
    action = SEMANTIC_ACTIONS.get(kind)
    if action and details.get("target_user") is not None:
        audit_log(action=action, table=AUDIT_TABLE, record_id=details["target_user"], actor=user, metadata=details)


def record_owner_access_denied(request: Any) -> None:
    security_event_access_denied(request)
