"""Amounts as Vietnamese users expect them (21.670.000 ₫) and as English users do (21,670,000 VND),
through what people actually read: admin pages, e-mails, exports (XLSX keeps numbers)."""

from __future__ import annotations

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.test import Client
from openpyxl import load_workbook

from accounts.models import User
from payments.models import PaymentRequest, PaymentRequestStatus
from payments.notifications import channels
from payments.notifications.models import Notification
from tests.accounts.factories import TeamFactory, UserFactory
from tests.payments.factories import make_pr

pytestmark = pytest.mark.django_db

AMOUNT = "21670000"
VI_AMOUNT, EN_AMOUNT = "21.670.000 ₫", "21,670,000 VND"
EXPORT_URL = "/api/workbench/export/"


def speaking(user: User, language: str) -> User:
    User.objects.filter(pk=user.pk).update(language=language)
    user.refresh_from_db()
    return user


def test_admin_list_shows_amounts_in_the_users_language(finance):
    pr = make_pr(maker=finance, amount=AMOUNT, name="Thanh toán cước vận chuyển")
    client = Client()
    client.force_login(speaking(finance, "vi"))
    url = "/admin/payments/paymentrequest/"
    assert VI_AMOUNT in client.get(url).content.decode()
    speaking(finance, "en")
    html = client.get(url).content.decode()
    assert EN_AMOUNT in html and VI_AMOUNT not in html
    assert pr.name in html


def test_each_recipient_reads_the_notification_and_email_in_their_language(maker):
    vi = UserFactory(email="duyet.vi@acountee.test", name="Trần Văn Duyệt", roles=["bod"], language="vi")
    en = UserFactory(email="approver.en@acountee.test", name="John Approver", roles=["bod"], language="en")
    speaking(maker, "en")  # the maker's own language does not leak into others' notifications
    pr = make_pr(maker=maker, amount=AMOUNT, steps=[("allof", [vi, en])], request=True)

    to_vi = Notification.objects.get(recipient=vi, pr=pr)
    to_en = Notification.objects.get(recipient=en, pr=pr)
    assert to_vi.title == f"Đề nghị thanh toán #{pr.pk} đang chờ bạn phê duyệt"
    assert VI_AMOUNT in to_vi.body and "Bước 1" in to_vi.body
    assert to_en.title == f"Payment request #{pr.pk} awaits your approval"
    assert EN_AMOUNT in to_en.body

    mail_vi = channels.email_message(to_vi, address=vi.email)
    assert mail_vi.subject == to_vi.title
    assert "Xin chào Trần Văn Duyệt," in mail_vi.body and VI_AMOUNT in mail_vi.body
    assert "Mở đề nghị thanh toán" in mail_vi.alternatives[0][0]
    mail_en = channels.email_message(to_en, address=en.email)
    assert "Hello John Approver," in mail_en.body and EN_AMOUNT in mail_en.body
    assert "Open the payment request" in mail_en.alternatives[0][0]


def test_blank_preference_gets_language_code(maker, settings):
    settings.LANGUAGE_CODE = "vi"
    approver = UserFactory(email="blank@acountee.test", name="Người duyệt", roles=["bod"])
    pr = make_pr(maker=maker, amount=AMOUNT, steps=[("anyof", [approver])], request=True)
    assert VI_AMOUNT in Notification.objects.get(recipient=approver, pr=pr).body


# --- exports ---------------------------------------------------------------------------------
@pytest.fixture
def clerk(db) -> User:
    team = TeamFactory(name="Kế toán tổng hợp", capabilities=["workbench"])
    return UserFactory(email="clerk@acountee.test", name="Kế toán viên", roles=["finance"], team=team)


@pytest.fixture
def approved_pr(clerk) -> PaymentRequest:
    pr = make_pr(maker=clerk, amount=AMOUNT, name="Tạm ứng công tác Huế")
    # Only the export is under test here: the approval path is tested in tests/approvals.
    PaymentRequest.objects.filter(pk=pr.pk).update(
        status=PaymentRequestStatus.APPROVED,
        payee_bank_name=pr.bank_name,
        payee_bank_account=pr.bank_account,
        payee_account_name=pr.account_name,
    )
    return pr


def _csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))


@pytest.mark.parametrize(
    ("language", "header"),
    [
        ("vi", ["Mã ĐNTT", "Tên", "Nhà cung cấp", "Số tiền", "Tên ngân hàng"]),
        ("en", ["PR id", "Name", "Supplier", "Amount", "Bank name"]),
    ],
)
def test_export_headers_in_the_users_language(clerk, approved_pr, client_for, language, header):
    """The XLSX is for people: the reader's language. The CSV is for the bank's and the ERP's programs: its header
    is the column keys whoever exports it (docs/API.md, "One language for machines")."""
    client = client_for(speaking(clerk, language))
    params = {"ids": str(approved_pr.pk)}
    rows = _csv(client.get(EXPORT_URL, {**params, "format": "csv"}))  # no Accept-Language: the user's language
    assert rows[0][:5] == ["pr_id", "name", "supplier", "amount", "bank_name"]
    # CSV stays machine-readable: a plain number, whatever the language.
    assert Decimal(rows[1][3]) == Decimal(AMOUNT)

    response = client.get(EXPORT_URL, {**params, "format": "xlsx"})
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    assert [c.value for c in sheet[1]][:5] == header
    amount = sheet.cell(row=2, column=4)
    assert Decimal(str(amount.value)) == Decimal(AMOUNT)  # a number, not text
    assert amount.number_format == "#,##0"
    total = sheet.cell(row=3, column=1).value
    assert total == ("Tổng cộng" if language == "vi" else "Total")


@pytest.mark.parametrize(
    ("language", "header"),
    [
        ("vi", ["Tháng", "Trạng thái", "Tên trạng thái", "Số lượng", "Số tiền (VND)"]),
        ("en", ["Month", "Status", "Status name", "Count", "Amount (VND)"]),
    ],
)
def test_report_export_headers_in_the_users_language(owner, client_for, language, header):
    draft = make_pr(maker=owner, amount=AMOUNT)  # a draft without invoices counts in its creation month
    PaymentRequest.objects.filter(pk=draft.pk).update(created_at=datetime.datetime(2026, 11, 2, tzinfo=datetime.UTC))
    client = client_for(speaking(owner, language))
    url = "/api/reports/payables-by-month/"
    response = client.get(url, {"from": "2026-10", "to": "2026-11", "format": "csv"})
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == header
    sheet = load_workbook(io.BytesIO(client.get(url, {"from": "2026-10", "to": "2026-11", "format": "xlsx"}).content))
    assert [c.value for c in sheet.active[1]] == header
    amounts = [row[4] for row in sheet.active.iter_rows(min_row=2) if row[4].value]
    assert [Decimal(str(c.value)) for c in amounts] == [Decimal(AMOUNT)]
    assert amounts[0].number_format == "#,##0"


def test_numbers_in_import_messages_are_grouped_the_readers_way():
    from django.utils import translation

    from invoices.importing import _grouped

    with translation.override("vi"):
        assert _grouped(5_242_880) == "5.242.880"
    with translation.override("en"):
        assert _grouped(5_242_880) == "5,242,880"
