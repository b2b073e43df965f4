"""Semantic audit actions are their apps' enums; the audit app shows their labels through a registry."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

from accounts.audit_actions import UserAction
from approvals.audit_actions import DelegationAction, FlowAction
from audit.audit_actions import RowAction, action_label, registered_actions
from invoices.audit_actions import InvoiceAction
from payments.audit_actions import PaymentRequestAction, PaymentRequestContentAction
from payments.notifications.audit_actions import DeliveryAction

OWNED = [
    ("users", UserAction),
    ("invoices", InvoiceAction),
    ("pr", PaymentRequestContentAction),
    ("pr", PaymentRequestAction),
    ("approval_flows", FlowAction),
    ("approval_delegations", DelegationAction),
    ("notification_deliveries", DeliveryAction),
]


@pytest.mark.parametrize(("table", "actions"), OWNED)
def test_every_apps_actions_are_registered_with_their_labels(table, actions):
    registry = registered_actions()
    for value, label in actions.choices:
        assert str(registry[(table, value)]) == str(label)


def test_complete_is_two_actions_told_apart_by_table():
    assert InvoiceAction.COMPLETE == PaymentRequestAction.COMPLETE == "complete"  # stored values unchanged
    assert ("invoices", "complete") in registered_actions() and ("pr", "complete") in registered_actions()


def test_labels_as_before():
    assert action_label("pr", "reject") == "Rejected"
    assert action_label("pr", "INSERT") == "Created"
    assert action_label("invoices", "mark_obsolete") == "Mark obsolete"
    assert action_label("pr", "something_unknown") == "Something unknown"  # never registered: its own name
    with translation.override("vi"):
        assert action_label("pr", "reject") == "Bị từ chối"
        assert action_label("invoices", "complete") == "Đã hoàn tất"
        assert action_label("users", RowAction.UPDATE) == "Đã thay đổi"


def test_the_audit_app_imports_no_app_above_it():
    above = {"accounts", "files", "invoices", "payments", "approvals"}
    for path in (Path(settings.BASE_DIR) / "audit").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert node.module.split(".")[0] not in above, f"{path.name} imports {node.module}"
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    assert alias.name.split(".")[0] not in above, f"{path.name} imports {alias.name}"
