"""The demo steps run through the services, are idempotent and leave PRs in every state."""

from __future__ import annotations

import pytest

from acountee.demo import seed_accounts
from approvals.demo import seed_approvals
from payments.demo import seed_payments
from payments.models import PaymentMethod, PaymentRequest

pytestmark = pytest.mark.django_db


def test_demo_seeds_are_idempotent_and_cover_every_state():
    lines: list[str] = []
    for _ in range(2):
        seed_accounts(lines.append)
        seed_payments(lines.append)
        seed_approvals(lines.append)
    assert PaymentMethod.objects.count() == 4
    assert PaymentRequest.objects.count() == 7
    assert set(PaymentRequest.objects.values_list("status", flat=True)) == {"draft", "pending", "approved",
                                                                            "completed"}
