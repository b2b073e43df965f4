"""Owner-only API operations (users, teams, roles, flows, the mail outbox): a refusal carries the
NOT_OWNER code and is recorded as a security event."""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request

from accounts.security import record_owner_access_denied
from acountee.api.permissions import SignedInPermission
from acountee.errors import NotOwner


class IsOwner(SignedInPermission):
    """Owner-only operations (users, teams, roles, flows). Refusals carry the NOT_OWNER code."""

    def has_user_permission(self, request: Request, view: Any, user: Any) -> bool:
        if not user.is_owner:
            record_owner_access_denied(request)
            raise NotOwner()
        return True
