"""The one access check of the workbench, for the API (the admin calls the same service check)."""

from __future__ import annotations

from typing import Any

from rest_framework import permissions
from rest_framework.request import Request

from payments.workbench.services import ensure_workbench_access


class HasWorkbench(permissions.BasePermission):
    """Signed in and the team holds the `workbench` capability (owners always); refusals are
    403 NO_WORKBENCH_ACCESS."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False
        ensure_workbench_access(request.user)
        return True
