"""Which tables belong to a record's history.

The history of an invoice includes its line items; a payment request's includes its
invoice links, attachments and approval chain (with the chain's steps, step approvers and
records). The audit log knows rows only by table name and JSON snapshot, so the rules are
declared by table and column name here, without importing the apps that own the tables:

    register_child("invoices", "invoice_services", "invoice_id")

means: the history of `invoices` #N includes every entry of `invoice_services` whose row
(before or after) has `invoice_id = N`, and recursively that table's own children. An app
adding a child table adds one `register_child(...)` call (in its AppConfig.ready) or a
line below. A record may also point at a row it owns (`pr.approval_id`: the approval engine's
chain knows nothing of its request):

    register_owned("pr", "approval_id", "approval")

means: the history of `pr` #N includes the entries of the `approval` rows whose ids the request's own
rows (before or after) hold in `approval_id`, and recursively their children.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ChildRule:
    table: str
    parent_key: str


CHILD_RULES: dict[str, list[ChildRule]] = {}


@dataclass(frozen=True)
class OwnedRule:
    key: str
    table: str


OWNED_RULES: dict[str, list[OwnedRule]] = {}


def register_child(parent_table: str, child_table: str, parent_key: str) -> None:
    rules = CHILD_RULES.setdefault(parent_table, [])
    rule = ChildRule(child_table, parent_key)
    if rule not in rules:
        rules.append(rule)


def register_owned(parent_table: str, key: str, owned_table: str) -> None:
    rules = OWNED_RULES.setdefault(parent_table, [])
    rule = OwnedRule(key, owned_table)
    if rule not in rules:
        rules.append(rule)


# The fixed table contracts (docs/architecture.md).
register_child("invoices", "invoice_services", "invoice_id")
register_child("invoices", "pr_invoice", "invoice_id")
register_child("pr", "pr_invoice", "pr_id")
register_child("pr", "pr_attachments", "pr_id")
# A request's chain (approval rows written before the link moved to pr.approval_id carry pr_id: the
# migration that moved it updated every request's row, so that entry names the chain too).
register_owned("pr", "approval_id", "approval")
register_child("approval", "approval_steps", "approval_id")
register_child("approval", "approval_records", "approval_id")
register_child("approval_steps", "approval_step_users", "step_id")
register_child("approval_flows", "approval_flow_steps", "flow_id")
register_child("approval_flow_steps", "approval_flow_step_users", "step_id")
register_child("roles", "role_permissions", "role_id")
register_child("users", "user_roles", "user_id")
