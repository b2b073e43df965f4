"""Factories for approvals: flows made through the services."""

from __future__ import annotations

from typing import Any

from tests.accounts.factories import UserFactory


def approver_users(n: int, roles: tuple[str, ...] = ("bod",)) -> list[Any]:
    return [UserFactory(roles=list(roles)) for _ in range(n)]


def make_flow(*, owner: Any, name: str = "Quy trình chuẩn", steps: list[tuple[str, list[Any]]],
              **kwargs: Any) -> Any:
    from approvals import services

    return services.approval_flow_create(
        actor=owner, name=name,
        steps=[{"name": f"Bước {i}", "mode": mode, "approvers": users} for i, (mode, users) in enumerate(steps, 1)],
        **kwargs,
    )
