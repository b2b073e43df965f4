"""Writes to the audit log and the security log.

Row changes reach `audit` through PostgreSQL triggers (see `audit/migrations`); services add
*semantic* entries for intent (`assign_role`, `approve`, `reject` with its reason, …) with
`audit_log`, inside the same transaction as the change, so both commit or neither does.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from acountee.errors import ValidationFailed
from audit import context
from audit.models import AuditEntry, SecurityEvent, SecurityEventKind

SECURITY_EVENT_KINDS = frozenset(SecurityEventKind.values)


def _actor_for(user: Any) -> context.Actor:
    """The given user (with the current request's IP and agent), else whoever is acting now."""
    now = context.current_actor()
    if user is not None and getattr(user, "pk", None) is not None:
        return context.Actor(name=context.user_label(user), user_id=user.pk, ip=now.ip, user_agent=now.user_agent)
    return now


def audit_log(
    *,
    action: str,
    table: str,
    record_id: str | int,
    actor: Any,
    metadata: dict[str, Any] | None = None,
) -> AuditEntry:
    """One semantic entry ("why"), next to the trigger's row entries ("what")."""
    action = (action or "").strip()
    if not action or len(action) > 64:
        raise ValidationFailed(_("An audit action is required (at most 64 characters)."), code="INVALID_AUDIT_ACTION")
    if not table or len(table) > 128 or len(str(record_id)) > 64:
        raise ValidationFailed(
            _("An audit entry needs a table (≤ 128 characters) and a record id (≤ 64)."), code="INVALID_AUDIT_TARGET"
        )
    who = _actor_for(actor)
    return AuditEntry.objects.create(
        action=action,
        table_name=table,
        record_id=str(record_id),
        actor=who.name or context.UNKNOWN_ACTOR,
        actor_user_id=who.user_id,
        ip=who.ip or None,
        user_agent=who.user_agent,
        metadata=metadata or {},
    )


def audit_log_many(
    *,
    action: str,
    table: str,
    actor: Any,
    entries: list[tuple[str | int, dict[str, Any]]],
) -> None:
    """Many semantic entries of one action in one INSERT (bulk approve, completing a paid file)."""
    if not entries:
        return
    action = (action or "").strip()
    if not action or len(action) > 64:
        raise ValidationFailed(_("An audit action is required (at most 64 characters)."), code="INVALID_AUDIT_ACTION")
    if not table or len(table) > 128 or any(len(str(record_id)) > 64 for record_id, _meta in entries):
        raise ValidationFailed(
            _("An audit entry needs a table (≤ 128 characters) and a record id (≤ 64)."), code="INVALID_AUDIT_TARGET"
        )
    who = _actor_for(actor)
    AuditEntry.objects.bulk_create(
        [
            AuditEntry(
                action=action,
                table_name=table,
                record_id=str(record_id),
                actor=who.name or context.UNKNOWN_ACTOR,
                actor_user_id=who.user_id,
                ip=who.ip or None,
                user_agent=who.user_agent,
                metadata=metadata or {},
            )
            for record_id, metadata in entries
        ]
    )


def security_event_record(
    *,
    kind: str,
    request: Any = None,
    user: Any = None,
    details: dict[str, Any] | None = None,
) -> SecurityEvent | None:
    """Append one security event. `details` may carry `email` (the address tried at sign-in)."""
    if kind not in SECURITY_EVENT_KINDS:
        raise ValidationFailed(_("Unknown security event kind: %(kind)s") % {"kind": kind}, code="INVALID_EVENT_KIND")
    details = dict(details or {})
    if request is None:
        request = context.current_request()
    # Django's user_login_failed signal already recorded this attempt (see audit.signals).
    if kind == SecurityEventKind.SIGN_IN_FAILED and getattr(request, "_acountee_sign_in_failure_recorded", False):
        return None
    if user is not None and not getattr(user, "is_authenticated", False):
        user = None
    email = str(details.pop("email", "") or (getattr(user, "email", "") if user is not None else ""))
    email = email.replace("\x00", "")[:255]
    return SecurityEvent.objects.create(
        kind=kind,
        user_id=getattr(user, "pk", None),
        email=email,
        ip=(context.client_ip(request) or None) if request is not None else None,
        user_agent=context.user_agent(request) if request is not None else "",
        details=details,
    )


def security_event_access_denied(request: Any) -> None:
    """A signed-in user was refused an owner-only or audit operation (API or admin)."""
    security_event_record(
        kind="access_denied",
        request=request,
        user=request.user,
        details={"path": request.path, "method": request.method},
    )
