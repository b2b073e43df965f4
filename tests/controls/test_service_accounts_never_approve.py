"""SERVICE-ACCOUNTS-NEVER-APPROVE (docs/controls.md): an integration's API-only principal never approves a payment
request, whatever roles or scopes an owner gave it — not through the API (no scope reaches the call), not through
the services or bulk approve (the engine refuses the account), not as a delegation's substitute."""

from __future__ import annotations

import pytest

from accounts.services import service_account_create
from acountee.errors import PermissionDeniedError, ValidationFailed
from tests.accounts.test_service_accounts import token_client
from tests.payments.factories import make_pr

pytestmark = pytest.mark.django_db


def test_service_accounts_never_approve_through_any_door(owner, finance):
    """Even holding an approver's role and named in the chain: no scope reaches the approve call, and the
    approval engine refuses the account itself (a door that does not go through a token: the services)."""
    from payments import services

    account, key = service_account_create(name="Bot", scopes=["read", "import", "export"], actor=owner, roles=["bod"])
    pr = make_pr(maker=finance, steps=[("anyof", [account])], type="direct", request=True)
    through_api = token_client(key).post(f"/api/payment-requests/{pr.pk}/approve/", {})
    assert (through_api.status_code, through_api.json()["error"]["code"]) == (403, "TOKEN_SCOPE")
    with pytest.raises(PermissionDeniedError) as refused:
        services.payment_request_approve(pr=pr, actor=account)
    assert refused.value.code == "SERVICE_ACCOUNT"
    assert services.payment_requests_bulk_approve(ids=[pr.pk], actor=account).failed[0]["code"] == "SERVICE_ACCOUNT"
    # Nor through a delegation: it cannot be named a substitute.
    from datetime import date

    from approvals.services import approval_delegation_create

    with pytest.raises(ValidationFailed) as named:
        approval_delegation_create(
            actor=owner, approver=finance, substitute=account, start_date=date(2026, 1, 1), end_date=date(2026, 1, 2)
        )
    assert named.value.code == "SERVICE_ACCOUNT"
