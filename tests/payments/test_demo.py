"""The demo steps run through the services, are idempotent and leave PRs in every state."""

from __future__ import annotations

import pytest

from accounts.demo import seed_accounts
from approvals.demo import seed_flows
from payments.demo import seed_payment_requests, seed_payments
from payments.models import PaymentMethod, PaymentRequest

pytestmark = pytest.mark.django_db


def test_demo_seeds_are_idempotent_and_cover_every_state():
    lines: list[str] = []
    for _ in range(2):
        seed_accounts(lines.append)
        seed_payments(lines.append)
        seed_flows(lines.append)
        seed_payment_requests(lines.append)
    assert PaymentMethod.objects.count() == 4
    assert PaymentRequest.objects.count() == 8
    assert set(PaymentRequest.objects.values_list("status", flat=True)) == {"draft", "pending", "approved", "completed"}
    # The chief accountant's own large request: her step went to the flow's alternate (the owner).
    own = PaymentRequest.objects.get(name="Tạm ứng hội nghị khách hàng cuối năm")
    first = own.approval.steps.get(number=1)
    assert own.status == "pending"
    assert [u.email for u in first.approvers.all()] == ["owner@acountee.local"]
    # Every request paid so far was to an account never paid before.
    assert PaymentRequest.objects.filter(status="completed", payee_is_new=True).exists()
