"""Who may read reports: owners always, members of a team with the `reports` capability, and
holders of the `reports.view_reports` permission (through a role)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from acountee.api.permissions import SignedInPermission
from acountee.errors import PermissionDeniedError

VIEW_PERMISSION = "reports.view_reports"


class ReportsForbidden(PermissionDeniedError):
    code = "REPORTS_FORBIDDEN"
    default_message = _("Reports need the reports capability or the “view reports” permission.")


def can_view_reports(user: Any) -> bool:
    if not user or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return bool(user.is_owner or user.has_capability("reports") or user.has_perm(VIEW_PERMISSION))


def ensure_can_view_reports(user: Any) -> None:
    if not can_view_reports(user):
        raise ReportsForbidden()


class CanViewReports(SignedInPermission):
    """API permission: 401 when signed out (DRF), 403 REPORTS_FORBIDDEN otherwise."""

    def has_user_permission(self, request: Any, view: Any, user: Any) -> bool:
        ensure_can_view_reports(user)
        return True
