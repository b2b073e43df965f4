from __future__ import annotations

from typing import Any

from rest_framework.request import Request

from acountee.api.permissions import SignedInPermission
from acountee.errors import NotOwner


def _refuse(request: Request) -> bool:
    from audit.services import security_event_access_denied

    security_event_access_denied(request)
    raise NotOwner()


class CanReadAudit(SignedInPermission):
    """Owners (who hold every permission), or a role granting `audit.view_auditentry`."""

    def has_user_permission(self, request: Request, view: Any, user: Any) -> bool:
        if user.has_perm("audit.view_auditentry"):
            return True
        return _refuse(request)


class CanReadSecurityEvents(SignedInPermission):
    """Owners, or a role granting `audit.view_securityevent`."""

    def has_user_permission(self, request: Request, view: Any, user: Any) -> bool:
        if user.is_owner or user.has_perm("audit.view_securityevent"):
            return True
        return _refuse(request)
