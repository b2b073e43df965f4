"""The one access check of the workbench, for the API (the admin calls the same service check)."""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request

from acountee.api.permissions import SignedInPermission
from payments.workbench.services import ensure_workbench_access


class HasWorkbench(SignedInPermission):
    """Signed in and the team holds the `workbench` capability (owners always); refusals are
    403 NO_WORKBENCH_ACCESS."""

    def has_user_permission(self, request: Request, view: Any, user: Any) -> bool:
        ensure_workbench_access(user)
        return True
