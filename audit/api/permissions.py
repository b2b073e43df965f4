from __future__ import annotations

from typing import Any

from rest_framework import permissions
from rest_framework.request import Request

from acountee.errors import NotOwner


def _refuse(request: Request) -> bool:
    from audit.services import security_event_access_denied

    security_event_access_denied(request)
    raise NotOwner()


class CanReadAudit(permissions.BasePermission):
    """Owners (who hold every permission), or a role granting `audit.view_auditentry`."""

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not user or not user.is_authenticated:
            return False
        if user.has_perm("audit.view_auditentry"):
            return True
        return _refuse(request)


class CanReadSecurityEvents(permissions.BasePermission):
    """Owners, or a role granting `audit.view_securityevent`."""

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not user or not user.is_authenticated:
            return False
        if user.is_owner or user.has_perm("audit.view_securityevent"):
            return True
        return _refuse(request)
