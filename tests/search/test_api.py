"""Diacritic-insensitive `q` through the API: invoices, PRs, users, teams, flows, payment methods;
hostile input (wildcards are literal, controls and over-long text refused or cut)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from payments.models import PaymentRequest
from tests.approvals.factories import make_flow
from tests.payments.factories import PaymentMethodFactory, make_invoice, make_pr

pytestmark = pytest.mark.django_db

SAO_MAI = "CÔNG TY TNHH DỊCH VỤ KỸ THUẬT SAO MAI"


@pytest.fixture
def invoices():
    return {
        "sao_mai": make_invoice(seller_name=SAO_MAI, seller_tax_code="0312345678"),
        "sao_khue": make_invoice(seller_name="CÔNG TY CP SAO KHUÊ", seller_tax_code="0109876543"),
        "dien": make_invoice(seller_name="Tổng công ty Điện lực Hà Nội", seller_tax_code="0100101114"),
        "percent": make_invoice(seller_name="CỬA HÀNG GIẢM 50% MAI", seller_tax_code="0100000001"),
        "underscore": make_invoice(seller_name="SHOP_MAI", seller_tax_code="0100000002"),
    }


def found(client, url, **params):
    response = client.get(url, params)
    assert response.status_code == 200, response.json()
    return {row["id"] for row in response.json()["results"]}


def names(invoices, *keys):
    return {invoices[key].pk for key in keys}


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("cong ty sao mai", {"sao_mai"}),
        ("SAO MAI", {"sao_mai"}),
        ("mai sao  kỹ", {"sao_mai"}),  # order free; accents in the query are folded too
        ('"sao mai"', {"sao_mai"}),
        ("sao", {"sao_mai", "sao_khue"}),
        ("khue", {"sao_khue"}),
        ("dien luc", {"dien"}),
        ("ĐIỆN", {"dien"}),
        ("đien", {"dien"}),
        ("0312345", {"sao_mai"}),  # tax code prefix
        ("sao 0109876543", {"sao_khue"}),  # every term in some field
        ("sao mai 0109876543", set()),
        ("50%", {"percent"}),  # % is literal, not "50 then anything"
        ("%", {"percent"}),
        ("_", {"underscore"}),
        ("p_mai", {"underscore"}),
        ("h_p", set()),  # _ must not match one character ("shop")
        ("\\", set()),
        ("mai\\", set()),
        ("   ", {"sao_mai", "sao_khue", "dien", "percent", "underscore"}),
    ],
)
def test_invoice_q(q, expected, invoices, finance, client_for):
    assert found(client_for(finance), "/api/invoices/", q=q) == names(invoices, *expected)


@pytest.mark.parametrize("q", ["a\x00b", "\x00", "sao\x1fmai", "tab\tin", "mai\x7f"])
def test_invoice_q_control_characters_are_400(q, invoices, finance, client_for):
    response = client_for(finance).get("/api/invoices/", {"q": q})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


def test_invoice_q_very_long_is_cut_not_an_error(invoices, finance, client_for):
    client = client_for(finance)
    assert found(client, "/api/invoices/", q="sao mai " + "x" * 5000) == set()  # "x…" still a term
    assert found(client, "/api/invoices/", q="sao mai" + " " * 300 + "zzz") == names(invoices, "sao_mai")


def test_invoice_q_does_not_add_queries(invoices, finance, client_for):
    client = client_for(finance)
    client.get("/api/invoices/")
    with CaptureQueriesContext(connection) as plain:
        client.get("/api/invoices/", {"status": "imported"})  # filtered, like a search: counted exactly
    with CaptureQueriesContext(connection) as searched:
        assert found(client, "/api/invoices/", q="cong ty sao mai") == names(invoices, "sao_mai")
    assert len(searched) == len(plain)


def test_pr_q_name_and_supplier(maker, finance, client_for):
    electricity = make_pr(maker=maker, name="Thanh toán tiền điện tháng 11", account_name="TỔNG CÔNG TY ĐIỆN LỰC")
    rent = make_pr(maker=maker, name="Tiền thuê văn phòng", account_name=SAO_MAI)
    PaymentRequest.objects.filter(pk=rent.pk).update(payment_reference="UNC-2026/11_07")  # set when paid
    client = client_for(finance)
    url = "/api/payment-requests/"
    assert found(client, url, q="thanh toan dien") == {electricity.pk}
    assert found(client, url, q="dien luc") == {electricity.pk}
    assert found(client, url, q="cong ty sao mai") == {rent.pk}
    assert found(client, url, q="thue unc-2026") == {rent.pk}
    assert found(client, url, q="11_07") == {rent.pk}
    assert found(client, url, q="11%07") == set()
    assert found(client, url, q="tien") == {electricity.pk, rent.pk}


@pytest.mark.parametrize(("q", "status"), [("a\x00b", 400), ("x\ty", 400), ("x" * 201, 400), ("x" * 200, 200)])
def test_pr_q_hostile(q, status, finance, client_for):
    response = client_for(finance).get("/api/payment-requests/", {"q": q})
    assert response.status_code == status
    if status == 400:
        assert response.json()["error"]["code"] == "VALIDATION_ERROR"


def test_users_teams_flows_payment_methods(owner, approver, finance, client_for):
    client = client_for(owner)
    assert found(client, "/api/users/", q="nguoi duyet") == {approver.pk}
    assert found(client, "/api/users/", q="FINANCE@acountee") == {finance.pk}
    from accounts.models import Team

    team = Team.objects.create(name="Phòng Kế toán Hà Nội")
    Team.objects.create(name="Ban Giám đốc")
    assert found(client, "/api/teams/", q="ke toan ha noi") == {team.pk}
    flow = make_flow(owner=owner, name="Quy trình Điện nước", steps=[("anyof", [approver])])
    make_flow(owner=owner, name="Quy trình chuẩn", steps=[("anyof", [approver])])
    assert found(client, "/api/approval-flows/", q="dien nuoc") == {flow.pk}
    method = PaymentMethodFactory(name="Chuyển khoản Đông Á", bank_name="DongA Bank")
    PaymentMethodFactory(name="Tiền mặt")
    finance_client = client_for(finance)
    assert found(finance_client, "/api/payment-methods/", q="dong a") == {method.pk}
    assert found(finance_client, "/api/payment-methods/", search="chuyen khoan") == {method.pk}
    for url in ("/api/users/", "/api/teams/", "/api/approval-flows/"):
        assert client.get(url, {"q": "a\x00"}).status_code == 400
    assert finance_client.get("/api/payment-methods/", {"search": "\x00"}).status_code == 400
