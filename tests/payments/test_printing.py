"""Printing (issue 19): the payment request form (Mẫu số 05-TT) of a request as a page and a PDF, the month's
batch of completed requests, who may print what, and the PDF's fallback where WeasyPrint cannot run."""

from __future__ import annotations

import io
import re
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from accounts.models import Team, User
from payments import printing, services
from payments.models import PaymentRequest
from tests.accounts.factories import UserFactory
from tests.approvals.factories import approver_users
from tests.payments.factories import grant, make_invoice, make_pr

pytestmark = pytest.mark.django_db
PRINT = "/admin/payments/paymentrequest/{}/print/"
PDF = "/admin/payments/paymentrequest/{}/print.pdf"
MONTH = "/admin/payments/paymentrequest/print/month/"
WORDS_VI = "Hai mươi mốt triệu sáu trăm bảy mươi nghìn đồng"
# Session, user, the user's permissions (one query over their roles), then payment_request_print: the request
# with maker, team and chain (attachments counted in it), the steps, their approvers, the records, the invoices.
PRINT_PAGE_QUERIES = 8


def client_for(user: User, language: str | None = None) -> Client:
    if language:
        User.objects.filter(pk=user.pk).update(language=language)
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def chief(db) -> User:
    return UserFactory(email="ketoantruong@acountee.test", name="Trần Thị Kế Toán Trưởng", roles=["bod"])


@pytest.fixture
def director(db) -> User:
    return UserFactory(email="giamdoc@acountee.test", name="Nguyễn Văn Giám Đốc", roles=["bod"])


@pytest.fixture
def deputy(db) -> User:
    return UserFactory(email="phogiamdoc@acountee.test", name="Lê Phó Giám Đốc", roles=["bod"])


@pytest.fixture
def paid_pr(maker, finance, chief, director, deputy):
    """A direct request for two invoices (21,670,000): step 1 approved by the chief accountant; step 2 (all of
    director and deputy) by the director and, in the deputy's place, by the chief accountant as his substitute
    today. Completed with a bank reference."""
    from approvals.services import approval_delegation_create

    maker.team = Team.objects.create(name="Phòng Kế toán")
    maker.save(update_fields=["team"])
    invoices = [
        make_invoice(total="11000000", seller_name="Công ty CP Cung ứng Minh Phát"),
        make_invoice(total="10670000", seller_name="Công ty CP Cung ứng Minh Phát"),
    ]
    pr = make_pr(
        maker=maker,
        steps=[("anyof", [chief]), ("allof", [director, deputy])],
        type="direct",
        invoices=invoices,
        name="Thanh toán vật tư văn phòng tháng 11",
        note="Theo hợp đồng 15/2026/HĐMB",
    )
    services.payment_request_request_approval(pr=pr, actor=maker)
    services.payment_request_approve(pr=pr, actor=chief)
    services.payment_request_approve(pr=pr, actor=director)
    today = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).date()
    approval_delegation_create(actor=deputy, approver=deputy, substitute=chief, start_date=today, end_date=today)
    services.payment_request_approve(pr=pr, actor=chief)  # for the deputy
    return services.payment_request_complete(pr=pr, actor=finance, payment_reference="FT26333123456789")


# --- the page --------------------------------------------------------------------------------------------------
def test_print_page_in_vietnamese(paid_pr, finance, chief, director, deputy, maker):
    response = client_for(finance, "vi").get(PRINT.format(paid_pr.pk))
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="vi">' in html
    assert "GIẤY ĐỀ NGHỊ THANH TOÁN" in html and "Mẫu số 05-TT" in html
    assert "Thông tư số 200/2014/TT-BTC" in html
    assert "Kính gửi:" in html
    assert f'<dd class="requester">{maker.name}</dd>' in html
    assert '<dd class="department">Phòng Kế toán</dd>' in html
    assert "Thanh toán vật tư văn phòng tháng 11" in html and "Theo hợp đồng 15/2026/HĐMB" in html
    assert '<dd class="amount">21.670.000 ₫</dd>' in html
    assert f'<dd class="words amount-in-words">{WORDS_VI}</dd>' in html
    assert "(Kèm theo 2 chứng từ gốc.)" in html
    # the invoices: number, date, seller, amount
    invoices = html.split('class="invoices"')[1].split("</table>")[0]
    for link in paid_pr.invoice_links.select_related("invoice"):
        assert f"{link.invoice.series} {link.invoice.number}" in invoices
    assert "01/11/2026" in invoices and "Công ty CP Cung ứng Minh Phát" in invoices
    assert "11.000.000 ₫" in invoices and "10.670.000 ₫" in invoices and "21.670.000 ₫" in invoices
    # the approval trail: each step, its approvers, who acted, when, on whose behalf
    step1 = html.split(f'id="pr-form-{paid_pr.pk}-step-1"')[1].split("</tr>")[0]
    step2 = html.split(f'id="pr-form-{paid_pr.pk}-step-2"')[1].split("</tbody>")[0]  # one row per approval
    assert "Bước 1" in step1 and chief.name in step1
    assert director.name in step2 and deputy.name in step2
    assert re.search(rf'<td>{chief.name}</td><td class="at">[^<]+</td><td>{deputy.name}</td>', step2)  # for the deputy
    assert re.search(r"\d\d/\d\d/\d{4} \d\d:\d\d", step2)
    assert "Tất cả người phê duyệt" in step2 or "Tất cả" in step2
    # signature lines: the requester, then one per step with who approved it
    signatures = html.split('class="signatures"')[1].split("</table>")[0]
    assert "Người đề nghị thanh toán" in signatures and "(Ký, họ tên)" in signatures
    assert "Bước 1" in signatures and "Bước 2" in signatures
    assert maker.name in signatures and director.name in signatures
    assert 'id="pr-form-not-final"' not in html  # completed: a final form
    assert "FT26333123456789" in html
    assert 'id="print-pdf"' in html and 'id="print-now"' in html


def test_print_page_in_english(paid_pr, finance, chief, director):
    html = client_for(finance, "en").get(PRINT.format(paid_pr.pk)).content.decode()
    assert '<html lang="en">' in html
    assert "PAYMENT REQUEST FORM" in html and "Form No. 05-TT" in html
    assert '<dd class="amount">21,670,000 VND</dd>' in html
    assert WORDS_VI in html  # the form's amount in words is Vietnamese, whatever the page's language
    assert "Approval trail" in html and chief.name in html and director.name in html
    assert "(Attached: 2 original documents.)" in html
    assert "1 Nov 2026" in html  # dates spelled out in English, never month-first
    assert "Requester" in html and "(Signature, full name)" in html


def test_draft_says_it_is_not_approved(maker, finance):
    (a,) = approver_users(1)
    pr = make_pr(maker=maker, steps=[("anyof", [a])], amount="1005000")
    html = client_for(finance, "vi").get(PRINT.format(pr.pk)).content.decode()
    assert 'id="pr-form-not-final"' in html and "Chưa được phê duyệt" in html
    assert "Một triệu không trăm linh năm nghìn đồng" in html
    assert "Chưa phê duyệt" in html  # the step nobody approved yet


def test_company_heading_and_circular_come_from_settings(settings, paid_pr, finance):
    settings.COMPANY_NAME = "CÔNG TY TNHH ACOUNTEE VIỆT NAM"
    settings.COMPANY_ADDRESS = "12 Láng Hạ, Đống Đa, Hà Nội"
    settings.COMPANY_TAX_CODE = "0101234567"
    settings.ACCOUNTING_CIRCULAR = "133"
    html = client_for(finance, "vi").get(PRINT.format(paid_pr.pk)).content.decode()
    assert "CÔNG TY TNHH ACOUNTEE VIỆT NAM" in html and "12 Láng Hạ, Đống Đa, Hà Nội" in html
    assert "0101234567" in html
    assert "Thông tư số 133/2016/TT-BTC ngày 26/08/2016" in html
    assert "Ban Giám đốc CÔNG TY TNHH ACOUNTEE VIỆT NAM" in html


def test_request_page_links_to_print(paid_pr, finance):
    html = client_for(finance, "vi").get(f"/admin/payments/paymentrequest/{paid_pr.pk}/change/").content.decode()
    assert f'href="/admin/payments/paymentrequest/{paid_pr.pk}/print/" id="pr-print"' in html
    assert "In giấy đề nghị" in html
    assert f'href="/admin/payments/paymentrequest/{paid_pr.pk}/print.pdf" id="pr-print-pdf"' in html


# --- who may print ---------------------------------------------------------------------------------------------
def test_whoever_cannot_see_the_request_gets_404(maker, outsider):
    (a,) = approver_users(1)
    pr = make_pr(maker=maker, steps=[("anyof", [a])], request=True)
    # no view permission: scoped to the requests they made or whose chain names them
    stranger = grant(UserFactory(), "payments.change_paymentrequest")
    for user in (outsider, stranger):
        client = client_for(user)
        assert client.get(PRINT.format(pr.pk)).status_code == 404
        assert client.get(PDF.format(pr.pk)).status_code == 404
    assert client_for(maker).get(PRINT.format(pr.pk)).status_code == 200
    assert client_for(a).get(PRINT.format(pr.pk)).status_code == 200
    assert client_for(maker).get(PRINT.format(999_999)).status_code == 404


def test_named_on_the_chain_without_view_permission_may_print(maker):
    named = UserFactory(name="Người duyệt ngoài")  # no role: visible only because the chain names them
    pr = make_pr(maker=maker, steps=[("anyof", [named])], request=True)
    response = client_for(named).get(PRINT.format(pr.pk))
    assert response.status_code == 200 and "Người duyệt ngoài" in response.content.decode()


def test_anonymous_is_sent_to_sign_in(paid_pr):
    response = Client().get(PRINT.format(paid_pr.pk))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_print_page_queries_are_pinned(maker, finance):
    def count(pr: PaymentRequest) -> int:
        client = client_for(finance)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(PRINT.format(pr.pk)).status_code == 200
        return len(captured.captured_queries)

    people = approver_users(4)
    small = make_pr(maker=maker, steps=[("anyof", people[:1])], type="direct", invoices=[make_invoice()])
    big = make_pr(
        maker=maker,
        steps=[("anyof", people[:2]), ("allof", people[2:])],
        type="direct",
        invoices=[make_invoice() for _ in range(6)],
        request=True,
    )
    services.payment_request_approve(pr=big, actor=people[0])
    assert (count(small), count(big)) == (PRINT_PAGE_QUERIES, PRINT_PAGE_QUERIES)


# --- the PDF ---------------------------------------------------------------------------------------------------
@pytest.fixture
def weasyprint():
    """WeasyPrint with its system libraries (Pango): `.ci/run` installs them; elsewhere these tests skip."""
    try:
        import weasyprint
    except (ImportError, OSError) as exc:  # OSError: the Pango/GObject libraries cannot be loaded
        pytest.skip(f"WeasyPrint cannot run here ({exc}): apt-get install libpango-1.0-0 libpangoft2-1.0-0")
    return weasyprint


def pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


def normalised(text: str) -> str:
    import unicodedata

    return " ".join(unicodedata.normalize("NFC", text).split())


def test_pdf_holds_the_amount_in_words_and_the_approvers(weasyprint, paid_pr, finance, chief, director, deputy):
    response = client_for(finance, "vi").get(PDF.format(paid_pr.pk))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="de-nghi-thanh-toan-{paid_pr.pk}.pdf"'
    assert response.content.startswith(b"%PDF-")
    text = normalised(pdf_text(response.content))
    assert WORDS_VI in text
    for person in (chief, director, deputy):
        assert person.name in text
    assert "GIẤY ĐỀ NGHỊ THANH TOÁN" in text and "21.670.000 ₫" in text


def test_pdf_uses_the_shipped_font(weasyprint, paid_pr, finance):
    """Every glyph is drawn with our @font-face (DejaVu Sans from payments/static), embedded: never a system font."""
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(client_for(finance, "vi").get(PDF.format(paid_pr.pk)).content))
    fonts = {}
    for page in reader.pages:
        for ref in page["/Resources"]["/Font"].values():
            font = ref.get_object()
            descriptor = (font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font)[
                "/FontDescriptor"
            ].get_object()
            fonts[str(font["/BaseFont"])] = descriptor["/FontFile2"].get_object().get_data()
    assert fonts and all(name.split("+")[-1].startswith("Acountee-Print") for name in fonts), fonts.keys()
    assert all(b"DejaVu" in program or "DejaVu".encode("utf-16-be") in program for program in fonts.values())


def test_pdf_unavailable_answers_a_clear_page_and_the_print_page_still_works(paid_pr, finance, monkeypatch):
    def missing(html: str) -> bytes:
        raise printing.PdfUnavailable("cannot load library 'libpango-1.0-0'")

    monkeypatch.setattr(printing, "render_pdf", missing)
    client = client_for(finance, "vi")
    response = client.get(PDF.format(paid_pr.pk))
    assert response.status_code == 503
    html = response.content.decode()
    assert 'id="pdf-unavailable"' in html and "không tạo được" in html.lower()
    assert f'href="/admin/payments/paymentrequest/{paid_pr.pk}/print/"' in html
    assert client.get(PRINT.format(paid_pr.pk)).status_code == 200


def test_render_pdf_reports_a_missing_library(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def failing_import(name, *args, **kwargs):
        if name == "weasyprint":
            raise OSError("cannot load library 'libgobject-2.0-0'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", failing_import)
    with pytest.raises(printing.PdfUnavailable):
        printing.render_pdf("<p>x</p>")


def test_pdf_reads_no_file_outside_the_print_directory(weasyprint, tmp_path):
    secret = tmp_path / "secret.css"
    secret.write_text("p { color: red }")
    html = (
        f'<link rel="stylesheet" href="{secret.as_uri()}"><img src="file:///etc/hostname">'
        '<link rel="stylesheet" href="form.css"><p>Xin chào</p>'
    )
    fetched: list[str] = []

    class Spy(type(printing._fetcher(weasyprint))):
        def fetch(self, url, headers=None):
            try:
                response = super().fetch(url, headers)
            except ValueError:
                fetched.append(f"refused {url}")
                raise
            fetched.append(f"read {url}")
            return response

    fetcher = Spy(allowed_protocols=["file"])
    weasyprint.HTML(string=html, base_url=printing.PRINT_DIR.as_uri() + "/", url_fetcher=fetcher).write_pdf()
    assert f"refused {secret.as_uri()}" in fetched
    assert "refused file:///etc/hostname" in fetched
    assert any(entry.startswith("read ") and entry.endswith("/form.css") for entry in fetched)
    assert any(entry.endswith("DejaVuSans.ttf") for entry in fetched if entry.startswith("read "))


# --- a month of completed requests -----------------------------------------------------------------------------
def completed_on(pr: PaymentRequest, when: datetime) -> PaymentRequest:
    PaymentRequest.objects.filter(pk=pr.pk).update(completed_at=when)
    return pr


def test_batch_prints_the_month_completed_requests_one_form_per_page(weasyprint, paid_pr, maker, finance):
    tz = ZoneInfo("Asia/Ho_Chi_Minh")
    completed_on(paid_pr, datetime(2026, 11, 30, 23, 30, tzinfo=tz))  # local November, UTC 16:30 the 30th
    (a,) = approver_users(1)
    other = make_pr(maker=maker, steps=[("anyof", [a])], amount="1500000", name="Tạm ứng công tác", request=True)
    services.payment_request_approve(pr=other, actor=a)
    services.payment_request_complete(pr=other, actor=finance, payment_reference="FT2")
    completed_on(other, datetime(2026, 11, 2, 9, 0, tzinfo=tz))
    december = make_pr(maker=maker, steps=[("anyof", [a])], amount="999000", name="Tháng sau", request=True)
    services.payment_request_approve(pr=december, actor=a)
    services.payment_request_complete(pr=december, actor=finance, payment_reference="FT3")
    completed_on(december, datetime(2026, 12, 1, 0, 5, tzinfo=tz))
    approved_only = make_pr(maker=maker, steps=[("anyof", [a])], name="Chưa trả", request=True)
    services.payment_request_approve(pr=approved_only, actor=a)

    client = client_for(finance, "vi")
    page = client.get(MONTH + "?month=2026-11").content.decode()
    assert "2 đề nghị hoàn tất trong tháng 11/2026" in page
    assert "Tạm ứng công tác" in page and "Thanh toán vật tư văn phòng tháng 11" in page
    assert "Tháng sau" not in page and "Chưa trả" not in page
    assert 'href="/admin/payments/paymentrequest/print/month/2026-11.pdf"' in page

    forms = client.get("/admin/payments/paymentrequest/print/month/2026-11/").content.decode()
    assert re.findall(r'<article class="form-05tt" id="pr-form-(\d+)"', forms) == [str(other.pk), str(paid_pr.pk)]

    response = client.get("/admin/payments/paymentrequest/print/month/2026-11.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(response.content))
    pages = [normalised(page.extract_text()) for page in reader.pages]
    assert len(pages) == 2  # one form per page, in the order they were paid
    assert "Một triệu năm trăm nghìn đồng" in pages[0] and WORDS_VI in pages[1]


def test_batch_needs_the_view_permission(maker, finance, outsider):
    (a,) = approver_users(1)
    make_pr(maker=maker, steps=[("anyof", [a])], request=True)
    stranger = grant(UserFactory(), "payments.change_paymentrequest")
    for user in (outsider, stranger):
        client = client_for(user)
        assert client.get(MONTH).status_code == 403
        assert client.get(MONTH + "2026-11/").status_code == 403
        assert client.get(MONTH + "2026-11.pdf").status_code == 403
    finance_client = client_for(finance)
    assert finance_client.get(MONTH + "2026-13.pdf").status_code == 404
    assert finance_client.get(MONTH + "?month=nonsense").status_code == 200
    changelist = finance_client.get("/admin/payments/paymentrequest/").content.decode()
    assert 'id="pr-print-month"' in changelist
    assert 'id="pr-print-month"' not in client_for(stranger).get("/admin/payments/paymentrequest/").content.decode()


def test_empty_month_says_so(finance):
    page = client_for(finance, "en").get(MONTH + "?month=2001-01").content.decode()
    assert "0 requests completed in 01/2001" in page and 'id="print-month-pdf"' not in page


# --- the form's wording --------------------------------------------------------------------------------------------
def test_printed_request_needs_no_query_once_selected(paid_pr, finance):
    from payments.selectors import payment_request_print

    pr = payment_request_print(user=finance).get(pk=paid_pr.pk)
    with translation.override("vi"), CaptureQueriesContext(connection) as captured:
        form = printing.printed_request(pr)
    assert len(captured.captured_queries) == 0
    assert form.amount_in_words == WORDS_VI and form.documents == 2
    assert [s["title"] for s in form.signatures] == ["Người đề nghị thanh toán", "Bước 1", "Bước 2"]
    assert form.date_line.startswith("Ngày ") and " tháng " in form.date_line and " năm " in form.date_line
    assert form.amount == "21.670.000 ₫" and Decimal(pr.amount) == Decimal("21670000")
