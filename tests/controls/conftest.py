"""A small company for the payment-control tests: two finance clerks, a chief accountant who is also
finance staff, two directors, an owner, and the owners' flows by amount (docs/controls.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests.accounts.factories import TeamFactory, UserFactory
from tests.approvals.factories import make_flow

SMALL_LIMIT = "50000000"


@dataclass
class Company:
    owner: Any
    clerk: Any  # makes requests
    colleague: Any  # another finance clerk
    chief: Any  # chief accountant: finance staff and the first approver of large requests
    director: Any
    deputy: Any
    small: Any  # < 50,000,000: one any-of step, either director
    large: Any  # ≥ 50,000,000: chief accountant (owner as alternate), then both directors


@pytest.fixture
def company(db) -> Company:
    owner = UserFactory(email="chu@cty.test", name="Chủ sở hữu", roles=["owner"])
    accounting = TeamFactory(name="Kế toán", capabilities=["workbench"])  # the bank export is theirs
    clerk = UserFactory(email="ketoan@cty.test", name="Kế toán viên", roles=["finance"], team=accounting)
    colleague = UserFactory(email="ketoan2@cty.test", name="Kế toán viên 2", roles=["finance"], team=accounting)
    chief = UserFactory(email="ktt@cty.test", name="Kế toán trưởng", roles=["finance"], team=accounting)
    director = UserFactory(email="gd@cty.test", name="Giám đốc", roles=["bod"])
    deputy = UserFactory(email="pgd@cty.test", name="Phó giám đốc", roles=["bod"])
    small = make_flow(owner=owner, name="Dưới 50 triệu", max_amount=SMALL_LIMIT, steps=[("anyof", [director, deputy])])
    from approvals import services as approval_services

    large = approval_services.approval_flow_create(
        actor=owner,
        name="Từ 50 triệu",
        min_amount=SMALL_LIMIT,
        steps=[
            {"name": "Kế toán trưởng", "mode": "anyof", "approvers": [chief], "alternates": [owner]},
            {"name": "Ban giám đốc", "mode": "allof", "approvers": [director, deputy]},
        ],
    )
    return Company(
        owner=owner,
        clerk=clerk,
        colleague=colleague,
        chief=chief,
        director=director,
        deputy=deputy,
        small=small,
        large=large,
    )
