"""Printing in a real browser (issue 19): Ctrl+P on the payment request page and on the invoice page prints the
content only (no sidebar, header, language menu or action buttons — the red un-complete button included), and
the payment request form prints to a PDF whose text has the amount in words and the approvers' names."""

from __future__ import annotations

import io
import unicodedata
from typing import Any

import pytest

from accounts.models import User
from payments import services
from tests.accounts.factories import PASSWORD, UserFactory
from tests.payments.factories import make_invoice, make_pr

expect = pytest.importorskip(
    "playwright.sync_api", reason="the `playwright` package is missing: pip install -e '.[dev]'"
).expect

pytestmark = pytest.mark.django_db(transaction=True)
WORDS = "Hai mươi mốt triệu sáu trăm bảy mươi nghìn đồng"
HIDDEN_IN_PRINT = ("#header", "#nav-sidebar", "#toggle-nav-sidebar", "#language-switcher", ".breadcrumbs")


def sign_in(page: Any, user: User) -> None:
    page.goto("/admin/")
    page.locator("#id_username").fill(user.email)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("input[type=submit]").click()
    expect(page.locator("#logout-form")).to_be_attached()


@pytest.fixture
def paid():
    owner = UserFactory(email="owner@print.test", name="Chủ Sở Hữu", roles=["owner"], language="vi")
    maker = UserFactory(email="maker@print.test", name="Nguyễn Thị Lập", roles=["finance"])
    chief = UserFactory(email="chief@print.test", name="Trần Kế Toán Trưởng", roles=["bod"])
    director = UserFactory(email="director@print.test", name="Lê Giám Đốc", roles=["bod"])
    invoices = [make_invoice(total="11000000"), make_invoice(total="10670000")]
    pr = make_pr(
        maker=maker, steps=[("anyof", [chief]), ("anyof", [director])], type="direct", invoices=invoices, request=True
    )
    services.payment_request_approve(pr=pr, actor=chief)
    services.payment_request_approve(pr=pr, actor=director)
    pr = services.payment_request_complete(pr=pr, actor=maker, payment_reference="FT26333999")
    return {"owner": owner, "chief": chief, "director": director, "pr": pr, "invoice": invoices[0]}


def test_ctrl_p_prints_the_content_only_and_the_form_prints_to_pdf(new_page, paid):
    page = new_page()
    sign_in(page, paid["owner"])
    pr = paid["pr"]

    # The request page: on screen the navigation and the red un-complete button; in print, neither.
    page.goto(f"/admin/payments/paymentrequest/{pr.pk}/change/")
    uncomplete = page.locator("#pr-action-uncomplete")
    expect(uncomplete).to_be_visible()
    expect(page.locator("#pr-print")).to_be_visible()
    page.emulate_media(media="print")
    for selector in (*HIDDEN_IN_PRINT, "#pr-actions", "#pr-print", ".object-tools"):
        expect(page.locator(selector).first).to_be_hidden()
    expect(page.locator("#approval-chain")).to_be_visible()
    expect(page.locator("#pr-invoices")).to_be_visible()
    page.emulate_media(media="screen")

    # The invoice page: the same.
    page.goto(f"/admin/invoices/invoice/{paid['invoice'].pk}/change/")
    expect(page.locator("#header")).to_be_visible()
    page.emulate_media(media="print")
    for selector in (*HIDDEN_IN_PRINT, ".object-tools", ".submit-row", "#invoice-technical"):
        expect(page.locator(selector).first).to_be_hidden()
    expect(page.locator("#content")).to_be_visible()
    for selector in ("#invoice-document", "#invoice-lines", "#invoice-totals", "#invoice-words"):
        expect(page.locator(selector)).to_be_visible()  # the invoice itself prints, as the portal shows it
    page.emulate_media(media="screen")

    # The payment request form: from the request page's link; its toolbar does not print.
    page.goto(f"/admin/payments/paymentrequest/{pr.pk}/change/")
    page.locator("#pr-print").click()
    expect(page.locator(f"#pr-form-{pr.pk}")).to_contain_text(WORDS)
    expect(page.locator("#print-now")).to_be_visible()
    page.emulate_media(media="print")
    expect(page.locator("#print-now")).to_be_hidden()
    text = _pdf_text(page.pdf(format="A4"))  # what Ctrl+P → "Save as PDF" gives
    assert WORDS in text
    assert paid["chief"].name in text and paid["director"].name in text

    # The server's PDF, with the signed-in session.
    response = page.request.get(f"/admin/payments/paymentrequest/{pr.pk}/print.pdf")
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    text = _pdf_text(response.body())
    assert WORDS in text and paid["chief"].name in text and paid["director"].name in text


def _pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    return " ".join(unicodedata.normalize("NFC", text).split())
