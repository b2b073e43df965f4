"""The maker, a preparer, may not approve their own PR (docs/controls.md; ALLOW_SELF_APPROVAL off), even
when the chain names them or a delegation would let them act: refused from the API (single
and bulk) and from the admin, and nothing is recorded."""

from __future__ import annotations

from datetime import date

import pytest
from django.test import Client

from approvals.models import ApprovalDelegation, ApprovalRecord
from payments.models import PaymentRequest
from tests.approvals.factories import approver_users
from tests.payments.factories import make_pr

pytestmark = pytest.mark.django_db
URL = "/api/payment-requests/"


def code(response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


def assert_untouched(pr) -> None:
    assert PaymentRequest.objects.get(pk=pr.pk).status == "pending"
    assert not ApprovalRecord.objects.filter(approval__pr=pr).exists()


@pytest.fixture
def own_pr(maker):
    """Pending, and the chain names its maker (who holds finance, not bod)."""
    (other,) = approver_users(1)
    return make_pr(maker=maker, steps=[("anyof", [maker, other])], request=True)


def test_api_single_approve_of_own_pr_is_refused(settings, maker, own_pr, client_for):
    assert settings.ALLOW_SELF_APPROVAL is False
    assert code(client_for(maker).post(f"{URL}{own_pr.pk}/approve/", {"step": 1}, format="json")) == (
        403,
        "SELF_APPROVAL",
    )
    assert_untouched(own_pr)


def test_api_bulk_approve_of_own_pr_is_refused(maker, own_pr, client_for):
    response = client_for(maker).post(f"{URL}bulk-approve/", {"ids": [own_pr.pk]}, format="json")
    assert response.status_code == 200
    assert response.json()["approved"] == []
    assert [(f["id"], f["code"]) for f in response.json()["failed"]] == [(own_pr.pk, "SELF_APPROVAL")]
    assert_untouched(own_pr)


def test_own_pr_is_not_in_the_makers_approval_queue(maker, own_pr, client_for):
    body = client_for(maker).get(f"{URL}?awaiting_me=true").json()
    assert own_pr.pk not in [row["id"] for row in body["results"]]


def test_a_substitute_cannot_approve_a_pr_they_made(maker, client_for):
    """The maker stands in for the named approver today: still their own PR."""
    (boss,) = approver_users(1)
    pr = make_pr(maker=maker, steps=[("anyof", [boss])], request=True)
    ApprovalDelegation.objects.create(
        approver=boss, substitute=maker, start_date=date.today(), end_date=date.today(), created_by=boss
    )
    assert code(client_for(maker).post(f"{URL}{pr.pk}/approve/")) == (403, "SELF_APPROVAL")
    assert_untouched(pr)


def test_admin_approve_action_on_own_pr_is_refused(maker, own_pr):
    client = Client()
    client.force_login(maker)
    response = client.post(
        "/admin/payments/paymentrequest/", {"action": "approve_selected", "_selected_action": [own_pr.pk]}, follow=True
    )
    assert response.status_code == 200
    assert "SELF_APPROVAL" in response.content.decode()
    assert_untouched(own_pr)


def test_the_other_approver_may_approve(own_pr, client_for):
    other = own_pr.approval.steps.get().step_users.exclude(user=own_pr.maker).get().user
    assert client_for(other).post(f"{URL}{own_pr.pk}/approve/").status_code == 200
    assert PaymentRequest.objects.get(pk=own_pr.pk).status == "approved"
