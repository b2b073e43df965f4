"""The approval engine (docs/approvals.md): flows, chains, the approvers' decisions, delegation.

It approves documents without knowing what they are: a document (a payment request today,
`payments`) owns one `Approval` through a one-to-one link of its own, locks its row first, checks its
own rules (its status, who prepared it) and calls these with what the chain needs — an amount, the
ids of the people who prepared it. Every write of a chain goes through here:

- `chains`: create, preview, resolve (by amount or custom), fix at approval request, start, reset;
- `decisions`: read chains under their locks, decide an approval, record decisions, retract;
- `flows`, `delegations`: the owners' approval flows, the approvers' substitutes;
- `common`: limits, the step shape, small checks.

Callers use this package's names (`from approvals import services`); the modules are its parts.
"""

from approvals.services.chains import (
    chain_create,
    chain_fix,
    chain_reset,
    chain_start,
    preview_chain,
    resolve_chain,
    write_chain,
)
from approvals.services.common import StepSpec, step_snapshot
from approvals.services.decisions import (
    Chain,
    Decision,
    Delegators,
    Retraction,
    chains_lock,
    decide,
    decisions_record,
    ensure_current_approver,
    retract,
)
from approvals.services.delegations import approval_delegation_create, approval_delegation_delete
from approvals.services.flows import approval_flow_create, approval_flow_delete, approval_flow_update

__all__ = [
    "Chain",
    "Decision",
    "Delegators",
    "Retraction",
    "StepSpec",
    "approval_delegation_create",
    "approval_delegation_delete",
    "approval_flow_create",
    "approval_flow_delete",
    "approval_flow_update",
    "chain_create",
    "chain_fix",
    "chain_reset",
    "chain_start",
    "chains_lock",
    "decide",
    "decisions_record",
    "ensure_current_approver",
    "preview_chain",
    "resolve_chain",
    "retract",
    "step_snapshot",
    "write_chain",
]
