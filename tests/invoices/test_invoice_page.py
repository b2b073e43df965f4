"""The invoice page as the tax authority's portal shows an e-invoice (issue 19, "The invoice as people know it"):
header, seller and buyer, lines with discount and promotion marked, the per-rate summary as a table, totals, the
amount in words computed by us, related invoices in both directions, figures and dates the reader's way, the
technical fields collapsed, never raw JSON; and the confirmation page before marking invoices obsolete.

The invoices are generated XML (tests/invoices/xmlgen.py) imported through the service, as production makes them.
"""

from __future__ import annotations

import re
from decimal import Decimal
from html import unescape

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from acountee.money import format_amount, format_number
from invoices import presentation
from invoices.models import Invoice, InvoiceStatus
from invoices.services import invoices_mark_completed
from tests.i18n.test_every_page_vietnamese import leaks, visible_pieces
from tests.invoices.factories import import_one
from tests.invoices.xmlgen import SELLER_TAX_CODE, L, invoice
from tests.payments.factories import make_invoice, make_pr

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/invoices/invoice/"
WORDS = "Hai mươi mốt triệu năm trăm bảy mươi nghìn đồng"  # 21,570,000, read by tests/test_amount_words.py's rules


def page_url(inv: Invoice) -> str:
    return f"{CHANGELIST}{inv.pk}/change/"


@pytest.fixture
def family(finance) -> dict[str, Invoice]:
    """An original, the replacement that supersedes it (two VAT rates, a trade discount, a promotion), and an
    adjustment of the replacement: every direction of "related" on one page."""
    original = import_one(invoice(number="201", issue_date="2026-10-01"), name="201.xml", actor=finance)
    replacement_xml = invoice(
        number="202",
        issue_date="2026-10-05",
        lines=[
            L("15000000", "10%", name="Máy chủ Dell R750"),
            L("5000000", "8%", name="Dịch vụ lắp đặt"),
            L("300000", "10%", nature=3, name="Chiết khấu thương mại 2%"),
            L("100000", "10%", nature=2, name="Cáp mạng tặng kèm"),
        ],
        summaries=[("10%", "14700000", "1470000"), ("8%", "5000000", "400000")],
        before="19700000",
        payable="21570000",
        related={
            "TCHDon": "1",
            "KHMSHDCLQuan": "1",
            "KHHDCLQuan": "C26TAA",
            "SHDCLQuan": "201",
            "NLHDCLQuan": "2026-10-01",
        },
    )
    replacement = import_one(replacement_xml, name="202.xml", actor=finance)
    adjustment = import_one(
        invoice(
            number="203",
            issue_date="2026-10-20",
            lines=[L("-1000000", "10%", name="Điều chỉnh giảm đơn giá")],
            summaries=[("10%", "-1000000", "-100000")],
            related={"TCHDon": "2", "SHDCLQuan": "202", "KHMSHDCLQuan": "1", "KHHDCLQuan": "C26TAA"},
        ),
        name="203.xml",
        actor=finance,
    )
    original.refresh_from_db()
    replacement.refresh_from_db()
    assert replacement.original_id == original.pk and adjustment.original_id == replacement.pk
    assert original.status == InvoiceStatus.REDUNDANT  # the replacement superseded it
    return {"original": original, "replacement": replacement, "adjustment": adjustment}


def get(client: Client, url: str, user, language: str) -> str:
    user.language = language
    user.save(update_fields=["language"])
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def section(html: str, element_id: str) -> str:
    """The markup of the element with this id up to its closing tag (tables and sections here do not nest)."""
    start = html.index(f'id="{element_id}"')
    tag = html[html.rindex("<", 0, start) + 1 : start].split()[0]
    return html[start : html.index(f"</{tag}>", start)]


def text(html: str) -> str:
    return " ".join(visible_pieces(html))


# --- the page in Vietnamese ----------------------------------------------------------------------------------------
def test_vietnamese_page_reads_like_the_portal(family, finance):
    replacement = family["replacement"]
    html = get(Client(), page_url(replacement), finance, "vi")

    # Header and parties.
    assert "HÓA ĐƠN GIÁ TRỊ GIA TĂNG" in html
    assert re.search(r'id="invoice-issue-date">05/10/2026<', html)
    assert 'id="invoice-series">C26TAA<' in html and 'id="invoice-number">202<' in html
    seller = text(section(html, "invoice-seller"))
    for expected in ("Người bán", "Mã số thuế", SELLER_TAX_CODE, "1 Lê Lợi", "0071000123456", "Vietcombank"):
        assert expected in seller
    assert "CÔNG TY TNHH ACOUNTEE VIỆT NAM" in text(section(html, "invoice-buyer"))

    # Lines: figures grouped with dots, unit prices without their six stored decimals, rates as percentages.
    lines = section(html, "invoice-lines")
    assert "Thành tiền chưa có thuế GTGT" in lines and "Thuế suất" in lines and "Tiền thuế GTGT" in lines
    assert ">15.000.000<" in lines and "15000000" not in lines
    assert ">1.500.000<" in lines  # the 10 % summary shared over the goods line and the discount
    assert ">8%<" in lines and ">10%<" in lines
    discount = re.search(r'<tr class="invoice-line invoice-line-discount">.*?</tr>', lines, re.S)
    assert discount and "-300.000" in discount.group(0) and "-30.000" in discount.group(0)
    assert 'data-kind="discount">Chiết khấu thương mại<' in discount.group(0)
    assert 'data-kind="promotion">Khuyến mại<' in lines

    # The per-rate summary is a table, the totals are there, the words are ours.
    rates = text(section(html, "invoice-rates"))
    assert "10% 14.700.000 1.470.000" in rates and "8% 5.000.000 400.000" in rates
    assert 'id="invoice-total-before_tax">19.700.000<' in html
    assert 'id="invoice-total-tax">1.870.000<' in html
    assert 'id="invoice-total-payable">21.570.000<' in html
    assert "Tổng tiền thanh toán" in html and "Chiết khấu thương mại" in html
    assert f'id="invoice-words-ours">{WORDS}<' in html
    flagged = text(section(html, "invoice-words-in-file"))  # the file wrote "Bằng chữ": shown beside, flagged
    assert "Bằng chữ" in flagged

    # Both directions of related invoices, with links.
    related = section(html, "invoice-related")
    assert f'href="{page_url(family["original"])}"' in related and "thay thế hóa đơn" in unescape(related)
    assert f'href="{page_url(family["adjustment"])}"' in related and "Được điều chỉnh bởi hóa đơn" in unescape(related)
    assert "số 201, ngày 01/10/2026" in unescape(related)

    # No stored number printed raw, no JSON; the technical fields collapsed; English nowhere.
    visible = text(html)
    assert not re.search(r"\d{4,}[.,]\d{2}\b", visible.replace("21.570.000", "")), "a raw stored number"
    assert '{"' not in visible and "[{" not in visible and "{'" not in visible
    # The stored per-rate summary is a table; only the audit history (what the import wrote, as written) names
    # its keys.
    assert "tax_rate_text" not in html[: html.index('class="audit-history"')]
    technical = html[html.index('id="invoice-technical"') - 2000 : html.index('id="invoice-technical"')]
    assert "<details>" in technical and "Thông tin kỹ thuật" in technical
    assert replacement.content_hash in section(html, "invoice-technical")
    assert 'name="payment_bank_account"' in html  # the one editable part stays a form field
    assert leaks(html, "vi", page_url(replacement)) == []


def test_the_original_says_by_which_invoice_it_was_replaced(family, finance):
    html = get(Client(), page_url(family["original"]), finance, "vi")
    related = section(html, "invoice-related")
    assert "Bị thay thế bởi hóa đơn" in unescape(related)
    assert f'href="{page_url(family["replacement"])}"' in related and "số 202, ngày 05/10/2026" in unescape(related)
    adjustment = get(Client(), page_url(family["adjustment"]), finance, "vi")
    assert f'href="{page_url(family["replacement"])}"' in section(adjustment, "invoice-related")
    assert "-1.000.000" in section(adjustment, "invoice-lines")
    assert leaks(html, "vi", page_url(family["original"])) == []


def test_english_page_groups_the_english_way(family, finance):
    html = get(Client(), page_url(family["replacement"]), finance, "en")
    assert 'id="invoice-issue-date">5 Oct 2026<' in html
    assert ">15,000,000<" in section(html, "invoice-lines")
    assert 'id="invoice-total-payable">21,570,000<' in html
    assert f'id="invoice-words-ours">{WORDS}<' in html  # the words are the invoice's legal wording
    related = section(html, "invoice-related")
    assert "This invoice replaces invoice" in related and "Adjusted by invoice" in related
    assert "form 1, series C26TAA, No. 201 of 1 Oct 2026" in related
    assert "Technical details" in html and "Summary by VAT rate" in html


def test_a_correction_whose_original_is_not_here_names_it_without_a_link(finance):
    waiting = import_one(
        invoice(number="401", related={"TCHDon": "2", "SHDCLQuan": "399", "NLHDCLQuan": "2026-09-30"}), actor=finance
    )
    html = get(Client(), page_url(waiting), finance, "en")
    related = section(html, "invoice-related")
    assert "No. 399 of 30 Sep 2026" in related and "original not imported yet" in related and "href" not in related


def test_payment_details_stay_editable_through_the_service(family, finance):
    replacement = family["replacement"]
    client = Client()
    client.force_login(finance)
    response = client.post(
        page_url(replacement),
        {
            "payment_type": "bank_transfer",
            "payment_bank_name": "ACB",
            "payment_bank_account": "123456789",
            "payment_account_name": "CONG TY KIEM THU",
        },
    )
    assert response.status_code == 302
    replacement.refresh_from_db()
    assert replacement.payment_bank_account == "123456789" and replacement.payment_details_changed_by == [finance.pk]


def test_the_page_runs_a_fixed_number_of_queries(family, finance):
    client = Client()
    client.force_login(finance)
    client.get(page_url(family["replacement"]))  # warm caches (content types, permissions)

    def count(inv: Invoice) -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(page_url(inv)).status_code == 200
        return len(queries)

    small = count(family["original"])
    rich = count(family["replacement"])  # four lines, two rates, an original and a correction
    in_a_request = make_invoice()
    make_pr(maker=finance, type="direct", invoices=[in_a_request])
    assert small == rich == count(in_a_request) == 10, (small, rich)


# --- the view model, without a page ------------------------------------------------------------------------------
def test_numbers_without_trailing_zeros_and_amounts_rounded_to_the_dong():
    assert format_number(Decimal("15000000.000000"), language="vi") == "15.000.000"
    assert format_number(Decimal("2.500000"), language="vi") == "2,5"
    assert format_number(Decimal("1234.5"), language="en") == "1,234.5"
    assert format_number(Decimal("-0.250000"), language="vi") == "-0,25"
    assert format_amount(Decimal("19700000.00"), "VND", language="vi") == "19.700.000"
    assert format_amount(Decimal("-300000.00"), "VND", language="en") == "-300,000"
    assert format_amount(Decimal("12.5"), "USD", language="vi") == "12,50"
    with translation.override("vi"):
        assert presentation.rate_text("KHAC:3.5%", Decimal("3.5000")) == "3,5%"
        assert presentation.rate_text("KCT", None) == "KCT"


def test_words_in_the_file_are_shown_only_when_they_differ():
    ours = "Hai mươi mốt triệu đồng"
    assert presentation.words_if_different("hai mươi  mốt triệu đồng.", ours) == ""
    assert presentation.words_if_different("", ours) == ""
    assert presentation.words_if_different("Hai mươi triệu đồng", ours) == "Hai mươi triệu đồng"


def test_extras_are_rows_never_json():
    rows = presentation.flatten({"Fkey": "ABC", "NBan": {"DDanh": "HN"}, "list": [{"a": 1}, "x"]})
    assert rows == [("Fkey", "ABC"), ("NBan / DDanh", "HN"), ("list / 1 / a", "1"), ("list", "x")]


# --- mark obsolete asks first --------------------------------------------------------------------------------------
def test_mark_obsolete_asks_first_and_says_what_will_happen(finance, maker):
    free, paid, linked, gone = make_invoice(), make_invoice(), make_invoice(), make_invoice(status="redundant")
    invoices_mark_completed(invoices=[paid], actor=finance)
    pr = make_pr(maker=maker, type="direct", invoices=[linked])
    client = Client()
    finance.language = "vi"
    finance.save(update_fields=["language"])
    client.force_login(finance)
    selected = [free.pk, paid.pk, linked.pk, gone.pk]

    page = client.post(CHANGELIST, {"action": "mark_obsolete", "_selected_action": selected})
    assert page.status_code == 200
    html = page.content.decode()
    assert f'href="{page_url(free)}"' in section(html, "obsolete-will")
    assert "01/11/2026" in section(html, "obsolete-will") and "11.000.000 ₫" in section(html, "obsolete-will")
    refused = unescape(section(html, "obsolete-refused"))
    assert f"#{pr.pk}" in refused and "hoàn tất" in refused and "không còn hiệu lực" in refused
    assert re.findall(r'name="_selected_action" value="(\d+)"', html) == [str(free.pk)]
    assert 'name="post" value="yes"' in html
    assert leaks(html, "vi", CHANGELIST) == []
    statuses = dict(Invoice.objects.filter(pk__in=selected).values_list("pk", "status"))
    assert statuses == {free.pk: "imported", paid.pk: "completed", linked.pk: "imported", gone.pk: "redundant"}

    done = client.post(
        CHANGELIST, {"action": "mark_obsolete", "_selected_action": [free.pk], "post": "yes"}, follow=True
    )
    assert done.status_code == 200
    assert any(m.level_tag == "success" for m in done.context["messages"])
    assert Invoice.objects.get(pk=free.pk).status == "redundant"
    assert Invoice.objects.get(pk=linked.pk).status == "imported"


def test_mark_obsolete_with_nothing_to_do_offers_no_button(finance):
    paid = make_invoice()
    invoices_mark_completed(invoices=[paid], actor=finance)
    client = Client()
    client.force_login(finance)
    html = client.post(CHANGELIST, {"action": "mark_obsolete", "_selected_action": [paid.pk]}).content.decode()
    assert 'id="obsolete-none"' in html and 'id="obsolete-confirm"' not in html
    assert Invoice.objects.get(pk=paid.pk).status == "completed"
