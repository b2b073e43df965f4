"""Diacritic-insensitive admin search boxes (acountee.search.FoldedSearchAdminMixin)."""

from __future__ import annotations

import pytest
from django.test import Client

from payments.models import PaymentRequest
from tests.payments.factories import make_invoice, make_pr

pytestmark = pytest.mark.django_db

SAO_MAI = "CÔNG TY TNHH DỊCH VỤ KỸ THUẬT SAO MAI"


@pytest.fixture
def admin_client_for(password):
    def make(user):
        client = Client()
        assert client.login(email=user.email, password=password)
        return client

    return make


def listed(client, url, q):
    response = client.get(url, {"q": q})
    assert response.status_code == 200
    return response.context["cl"].result_list


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("cong ty sao mai", ["sao_mai"]),
        ("Sao Mài   tnhh", ["sao_mai"]),
        ("dien luc", ["dien"]),
        ("Đ", ["dien", "sao_mai"]),  # Đ is d: "DỊCH" has one
        ("50%", ["percent"]),
        ("_", []),
        ("sao\x1fmai", ["sao_mai"]),  # a control character is a separator, never a 500
        ("sao\x00mai", ["sao_mai", "khue", "dien", "percent"]),  # Django's search form refuses NUL: no filter
        ("mai " + "y" * 1000, []),
    ],
)
def test_invoice_changelist(q, expected, finance, admin_client_for):
    rows = {
        "sao_mai": make_invoice(seller_name=SAO_MAI),
        "khue": make_invoice(seller_name="CÔNG TY CP SAO KHUÊ"),
        "dien": make_invoice(seller_name="Tổng công ty Điện lực Hà Nội"),
        "percent": make_invoice(seller_name="GIẢM 50% MAI"),
    }
    result = listed(admin_client_for(finance), "/admin/invoices/invoice/", q)
    assert {invoice.pk for invoice in result} == {rows[key].pk for key in expected}


def test_pr_changelist_and_invoice_picker(maker, finance, admin_client_for):
    pr = make_pr(maker=maker, name="Thanh toán dịch vụ kỹ thuật", account_name=SAO_MAI)
    other = make_pr(maker=maker, name="Tiền điện")
    client = admin_client_for(finance)
    assert {row.pk for row in listed(client, "/admin/payments/paymentrequest/", "cong ty sao mai")} == {pr.pk}
    assert {row.pk for row in listed(client, "/admin/payments/paymentrequest/", "tien dien")} == {other.pk}
    invoice = make_invoice(seller_name=SAO_MAI)
    make_invoice(seller_name="CÔNG TY CP SAO KHUÊ")
    url = f"/admin/payments/paymentrequest/{pr.pk}/invoices/"
    response = client.get(url, {"q": "cong ty sao mai"})
    assert response.status_code == 200
    assert [row.pk for row in response.context["free"]] == [invoice.pk]
    assert client.get(url, {"q": "sao\x00"}).status_code == 200
    assert PaymentRequest.objects.count() == 2


def test_user_team_flow_payment_method_changelists(owner, approver, finance, admin_client_for):
    from accounts.models import Team
    from tests.approvals.factories import make_flow
    from tests.payments.factories import PaymentMethodFactory

    client = admin_client_for(owner)
    assert [user.pk for user in listed(client, "/admin/accounts/user/", "NGUOI DUYET")] == [approver.pk]
    team = Team.objects.create(name="Phòng Kế toán")
    assert [row.pk for row in listed(client, "/admin/accounts/team/", "ke toan")] == [team.pk]
    flow = make_flow(owner=owner, name="Quy trình Điện nước", steps=[("anyof", [approver])])
    assert [row.pk for row in listed(client, "/admin/approvals/approvalflow/", "dien nuoc")] == [flow.pk]
    method = PaymentMethodFactory(name="Chuyển khoản Đông Á")
    PaymentMethodFactory(name="Tiền mặt")
    finance_client = admin_client_for(finance)
    assert [row.pk for row in listed(finance_client, "/admin/payments/paymentmethod/", "dong a")] == [method.pk]
