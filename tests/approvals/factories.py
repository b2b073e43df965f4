"""Factories for approvals: flows made through the services."""

from __future__ import annotations

from typing import Any

from tests.accounts.factories import UserFactory


def approver_users(n: int, roles: tuple[str, ...] = ("bod",)) -> list[Any]:
    return [UserFactory(roles=list(roles)) for _ in range(n)]


def make_flow(*, owner: Any, name: str = "Quy trình chuẩn", steps: list[tuple[str, list[Any]]], **kwargs: Any) -> Any:
    from approvals import services as approval_services

    return approval_services.approval_flow_create(
        actor=owner,
        name=name,
        steps=[{"name": f"Bước {i}", "mode": mode, "approvers": users} for i, (mode, users) in enumerate(steps, 1)],
        **kwargs,
    )


# --- one bare row per table, for tests/audit/registry.py (no child rows: raw DELETE must work) ---
def audit_row_flow() -> Any:
    from approvals.models import ApprovalFlow

    return ApprovalFlow.objects.create(name=f"Audit flow {ApprovalFlow.objects.count()}-{id(object())}")


def audit_row_flow_step() -> Any:
    from approvals.models import ApprovalFlowStep

    return ApprovalFlowStep.objects.create(flow=audit_row_flow(), number=1, name="Bước 1")


def audit_row_flow_step_user() -> Any:
    from approvals.models import ApprovalFlowStepUser

    return ApprovalFlowStepUser.objects.create(step=audit_row_flow_step(), user=UserFactory())


def audit_row_approval() -> Any:
    from approvals.models import Approval

    return Approval.objects.create()  # a chain on its own: the engine knows nothing of its document


def audit_row_step() -> Any:
    from approvals.models import ApprovalStep

    return ApprovalStep.objects.create(approval=audit_row_approval(), number=1, name="Bước 1")


def audit_row_step_user() -> Any:
    from approvals.models import ApprovalStepUser

    return ApprovalStepUser.objects.create(step=audit_row_step(), user=UserFactory())


def audit_row_record() -> Any:
    from approvals.models import ApprovalRecord

    step = audit_row_step()
    user = UserFactory()
    return ApprovalRecord.objects.create(approval=step.approval, step=step, approver=user, acted_by=user)


def audit_row_delegation() -> Any:
    import datetime

    from approvals.models import ApprovalDelegation

    return ApprovalDelegation.objects.create(
        approver=UserFactory(),
        substitute=UserFactory(),
        start_date=datetime.date(2026, 1, 1),
        end_date=datetime.date(2026, 1, 5),
    )
