"""Who may do what to a payment request, across roles (segregation of duties), and hostile
input on every lifecycle action: a clear error and nothing changed."""

from __future__ import annotations

import pytest

from approvals.models import ApprovalRecord
from payments.models import PaymentRequest
from tests.accounts.factories import UserFactory
from tests.approvals.factories import approver_users
from tests.payments.factories import make_pr

pytestmark = pytest.mark.django_db
URL = "/api/payment-requests/"


def code(r) -> tuple[int, str]:
    return r.status_code, r.json()["error"]["code"]


def state() -> list[tuple]:
    prs = PaymentRequest.objects.order_by("id").values_list("id", "status", "name", "payment_reference")
    return [*prs, tuple(ApprovalRecord.objects.order_by("id").values_list("id", flat=True))]


def test_roles_matrix(maker, client_for):
    admin_user = UserFactory(roles=["admin"])
    bod = UserFactory(roles=["bod"])
    (a,) = approver_users(1)
    pr = make_pr(maker=maker, steps=[("anyof", [a])], request=True)
    for user in (admin_user, bod):
        client = client_for(user)
        assert client.get(f"{URL}{pr.pk}/").status_code == 200  # they may read every PR
        assert client.post(URL, {"name": "x", "amount": "1"}, format="json").status_code == 403
        assert client.patch(f"{URL}{pr.pk}/", {"name": "x"}, format="json").status_code == 403
        assert code(client.post(f"{URL}{pr.pk}/approve/")) == (403, "NOT_AN_APPROVER")
        assert code(client.post(f"{URL}{pr.pk}/recall/")) == (403, "NOT_MAKER")
    client_for(a).post(f"{URL}{pr.pk}/approve/")
    for user in (admin_user, bod, a):
        assert code(client_for(user).post(f"{URL}{pr.pk}/complete/")) == (403, "PERMISSION_DENIED")
    assert PaymentRequest.objects.get(pk=pr.pk).status == "approved"


def test_owner_is_not_exempt_from_segregation(owner, client_for):
    (a,) = approver_users(1)
    pr = make_pr(maker=owner, steps=[("anyof", [owner, a])], request=True)
    assert code(client_for(owner).post(f"{URL}{pr.pk}/approve/")) == (403, "SELF_APPROVAL")


def test_another_finance_user_can_prepare_but_only_the_maker_recalls(maker, finance, client_for):
    (a,) = approver_users(1)
    pr = make_pr(maker=maker, steps=[("anyof", [a])])
    client = client_for(finance)
    assert client.patch(f"{URL}{pr.pk}/", {"note": "bổ sung chứng từ"}, format="json").status_code == 200
    assert client.post(f"{URL}{pr.pk}/request-approval/").status_code == 200
    assert code(client.post(f"{URL}{pr.pk}/recall/")) == (403, "NOT_MAKER")


@pytest.mark.parametrize(
    "action,payload",
    [
        ("approve", {"step": "one"}),
        ("approve", {"step": 0}),
        ("approve", {"unexpected": True}),
        ("reject", {"reason": ""}),
        ("reject", {"reason": "x" * 2001}),
        ("reject", {"reason": ["list"]}),
        ("complete", {"payment_reference": "x" * 129}),
        ("complete", {"payment_reference": {"a": 1}}),
    ],
)
def test_hostile_action_input(maker, finance, client_for, action, payload):
    (a,) = approver_users(1)
    pr = make_pr(maker=maker, steps=[("anyof", [a])], request=True)
    if action == "complete":
        client_for(a).post(f"{URL}{pr.pk}/approve/")
    actor = finance if action == "complete" else a
    before = state()
    r = client_for(actor).post(f"{URL}{pr.pk}/{action}/", payload, format="json")
    assert r.status_code == 400, r.json()
    assert state() == before


def test_anonymous_is_refused_everywhere(maker, anon_client):
    (a,) = approver_users(1)
    pr = make_pr(maker=maker, steps=[("anyof", [a])], request=True)
    assert anon_client.get(URL).status_code == 401
    assert anon_client.post(f"{URL}{pr.pk}/approve/").status_code == 401
    assert anon_client.post(f"{URL}bulk-approve/", {"ids": [pr.pk]}, format="json").status_code == 401
    assert anon_client.get("/api/approval-flows/").status_code == 401


def test_invisible_pr_is_404_for_actions(maker, client_for):
    stranger = UserFactory()
    (a,) = approver_users(1)
    pr = make_pr(maker=maker, steps=[("anyof", [a])], request=True)
    client = client_for(stranger)
    assert client.get(f"{URL}{pr.pk}/").status_code == 404
    assert client.post(f"{URL}{pr.pk}/reject/", {"reason": "x"}, format="json").status_code == 404
    body = client.post(f"{URL}bulk-approve/", {"ids": [pr.pk]}, format="json").json()
    assert body["failed"][0]["code"] == "NOT_FOUND"
