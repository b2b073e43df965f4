"""Every audited table and how to make one row of it, for the per-table audit tests.

Adding a business table = `AuditTrigger("<table>")` in its migration + one line here.
`tests/audit` fails for a table that has a trigger but no line here, and for a business
model whose table has no trigger.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def _user() -> Any:
    from tests.accounts.factories import UserFactory

    return UserFactory()


def _team() -> Any:
    from tests.accounts.factories import TeamFactory

    return TeamFactory()


def _role() -> Any:
    from tests.accounts.factories import RoleFactory

    return RoleFactory()


def _user_role() -> Any:
    from accounts.models import Role, UserRole
    from tests.accounts.factories import UserFactory

    return UserRole.objects.create(user=UserFactory(), role=Role.objects.get(name="bod"))


def _lazy(module: str, name: str) -> Callable[[], Any]:
    """A factory imported only when called (payments/approvals factories import their apps)."""

    def make() -> Any:
        import importlib

        return getattr(importlib.import_module(module), name)()

    return make


AUDITED_TABLE_FACTORIES: dict[str, Callable[[], Any]] = {
    "users": _user,
    "teams": _team,
    "roles": _role,
    "user_roles": _user_role,
    "files": lambda: __import__("tests.files.factories", fromlist=["stored_file"]).stored_file(),
    "invoices": _lazy("tests.invoices.factories", "audit_row_invoice"),
    "invoice_services": _lazy("tests.invoices.factories", "audit_row_invoice_service"),
    "pr": _lazy("tests.payments.factories", "audit_row_pr"),
    "payment_methods": _lazy("tests.payments.factories", "audit_row_payment_method"),
    "pr_attachments": _lazy("tests.payments.factories", "audit_row_pr_attachment"),
    "pr_invoice": _lazy("tests.payments.factories", "audit_row_pr_invoice"),
    "pr_preparers": _lazy("tests.payments.factories", "audit_row_pr_preparer"),
    "approval_flows": _lazy("tests.approvals.factories", "audit_row_flow"),
    "approval_flow_steps": _lazy("tests.approvals.factories", "audit_row_flow_step"),
    "approval_flow_step_users": _lazy("tests.approvals.factories", "audit_row_flow_step_user"),
    "approval": _lazy("tests.approvals.factories", "audit_row_approval"),
    "approval_steps": _lazy("tests.approvals.factories", "audit_row_step"),
    "approval_step_users": _lazy("tests.approvals.factories", "audit_row_step_user"),
    "approval_records": _lazy("tests.approvals.factories", "audit_row_record"),
    "approval_delegations": _lazy("tests.approvals.factories", "audit_row_delegation"),
    "notifications": _lazy("tests.notifications.factories", "audit_row_notification"),
    "notification_deliveries": _lazy("tests.notifications.factories", "audit_row_delivery"),
    "notification_preferences": _lazy("tests.notifications.factories", "audit_row_preference"),
    "workbench_export_templates": _lazy("tests.workbench.factories", "audit_row_export_template"),
    "events": _lazy("tests.webhooks.factories", "audit_row_event"),
    "webhook_endpoints": _lazy("tests.webhooks.factories", "audit_row_endpoint"),
    "webhook_deliveries": _lazy("tests.webhooks.factories", "audit_row_delivery"),
    # role_permissions is an M2M through table: covered by tests/audit via role.permissions.add().
}

# Tables of business apps deliberately left out of the row audit, with the reason.
NOT_AUDITED: dict[str, str] = {
    "api_tokens": "token creation and revocation are security events; key hashes stay out of the audit",
    # Request-guard infrastructure (accounts.requestguard, docs/api-guard.md): short-lived state, no business data.
    "idempotency_keys": "replay cache of API writes, purged after IDEMPOTENCY_KEY_TTL_HOURS",
    "sign_in_throttles": "failed sign-in counters; every lock-out is a security event",
    "api_rate_counters": "API requests per caller in the current rate-limit window; rewritten on every request",
    # Derived payables rollups (payments.reports.rollups, docs/adr/0012): written by triggers from the
    # audited invoices, pr_invoice and pr rows; rebuilt from them by `check_rollups --repair`.
    "reports_payables_month": "derived rollup of invoices (delta rows kept by triggers), no data of its own",
    "reports_payables_supplier": "derived rollup of invoices (delta rows kept by triggers), no data of its own",
    "reports_payables_supplier_month": "derived rollup of invoices (delta rows kept by triggers), no data of its own",
    "reports_unlinked_invoices_day": "derived rollup of invoices (delta rows kept by triggers), no data of its own",
}

# Auto-created many-to-many tables tested through their relation instead of a factory.
M2M_TABLES_TESTED_ELSEWHERE: set[str] = {"role_permissions"}
