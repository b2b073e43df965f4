"""Issue 18: an invoice whose lines, per-rate summary and header disagree imports with a stored finding
(what disagrees, by how much), shown on the invoice page, in the admin list (filterable), the API
(field and filter) and the import result; the amount payable stays the header's TgTTTBSo."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from invoices.parser import parse_invoice
from invoices.services import invoices_import
from tests.invoices.xmlgen import L, invoice

pytestmark = pytest.mark.django_db

URL = "/api/invoices/"
CHANGELIST = "/admin/invoices/invoice/"


def header_disagrees(number: str = "00000501") -> bytes:
    # The real case: the lines state 120,000 VAT in total, the header says 84,000.
    return invoice(
        number=number,
        lines=[L("700000", ttkhac={"VATAmount": "70000"}), L("500000", ttkhac={"VATAmount": "50000"})],
        tax="84000",
        payable="1284000",
    )


def codes(content: bytes) -> list[tuple[str, str, Decimal, Decimal, Decimal]]:
    return [(f.code, f.rate, f.expected, f.found, f.difference) for f in parse_invoice(content).findings]


def test_line_vat_against_the_header_is_a_finding():
    assert codes(header_disagrees()) == [("lines_tax", "", Decimal("84000"), Decimal("120000"), Decimal("36000"))]


def test_summary_against_header_and_lines_per_rate():
    content = invoice(
        lines=[L("1000000", ttkhac={"VATAmount": "100000"}), L("500000", rate="8%")],
        summaries=[("10%", "1000000", "100000"), ("8%", "400000", "32000")],
        before="1500000",
        tax="140000",
        payable="1640000",
    )
    assert codes(content) == [
        ("lines_tax", "", Decimal("140000"), Decimal("132000"), Decimal("-8000")),  # 8% line took the summary's
        ("summary_before_tax", "", Decimal("1500000"), Decimal("1400000"), Decimal("-100000")),
        ("summary_tax", "", Decimal("140000"), Decimal("132000"), Decimal("-8000")),
        ("rate_before_tax", "8%", Decimal("400000"), Decimal("500000"), Decimal("100000")),
    ]


def test_amount_payable_that_is_not_before_plus_tax():
    content = invoice(lines=[L("1000000")], summaries=[("10%", "1000000", "100000")], payable="1200000")
    assert codes(content) == [("payable", "", Decimal("1100000"), Decimal("1200000"), Decimal("100000"))]


@pytest.mark.parametrize(
    "content",
    [
        invoice(
            lines=[L("1000000"), L("2000000", rate="8%")],
            summaries=[("10%", "1000000", "100000"), ("8%", "2000000", "160000")],
        ),
        invoice(
            lines=[L("10000000"), L("1000000", nature=3)], summaries=[("10%", "9000000", "900000")], before="9000000"
        ),
        invoice(lines=[L("0", rate=None)], summaries=[("8%", "0", "-20000")], before="0"),  # a rate-only adjustment
        invoice(lines=[L("33335"), L("33335"), L("33335")], tax="10001"),
    ],
    ids=["two-rates", "discount", "rate-only-adjustment", "totals-block"],
)
def test_consistent_files_have_no_finding(content):
    assert parse_invoice(content).findings == ()


def test_finding_is_stored_and_in_the_import_result_and_the_payable_stays_the_headers(finance):
    report = invoices_import(uploads=[("d.xml", header_disagrees())], actor=finance)
    entry = report.as_dict()["files"][0]["entries"][0]
    assert entry["result"] == "success"
    (finding,) = entry["findings"]
    assert (finding["code"], finding["expected"], finding["found"], finding["difference"]) == (
        "lines_tax",
        "84000.00",
        "120000.00",
        "36000.00",
    )
    assert "36,000" in finding["text"]
    from invoices.models import Invoice

    stored = Invoice.objects.get(pk=entry["invoice"])
    assert stored.total_payable == Decimal("1284000.00") and stored.total_tax == Decimal("84000.00")
    assert stored.consistency_findings == [
        {"code": "lines_tax", "rate": "", "expected": "84000.00", "found": "120000.00", "difference": "36000.00"}
    ]


def test_api_field_and_filter(finance, client_for):
    invoices_import(
        uploads=[
            ("d.xml", header_disagrees()),
            ("ok.xml", invoice(number="502", summaries=[("10%", "1000000", "100000")])),
        ],
        actor=finance,
    )
    client = client_for(finance)
    flagged = client.get(URL, {"findings": "true"}).json()["results"]
    assert [row["number"] for row in flagged] == ["00000501"]
    assert flagged[0]["consistency_findings"][0]["code"] == "lines_tax"
    assert flagged[0]["consistency_findings"][0]["difference"] == "36000.00"
    clean = client.get(URL, {"findings": "false"}).json()["results"]
    assert [row["number"] for row in clean] == ["502"] and clean[0]["consistency_findings"] == []
    detail = client.get(f"{URL}{flagged[0]['id']}/").json()
    assert detail["consistency_findings"][0]["found"] == "120000.00"
    assert client.get(URL, {"findings": "maybe"}).status_code == 400


def test_admin_page_list_and_filter(finance, password):
    report = invoices_import(
        uploads=[
            ("d.xml", header_disagrees()),
            ("ok.xml", invoice(number="502", summaries=[("10%", "1000000", "100000")])),
        ],
        actor=finance,
    )
    flagged_id = report.uploads[0].entries[0].invoice_id
    client = Client()
    assert client.login(email=finance.email, password=password)
    page = client.get(f"{CHANGELIST}{flagged_id}/change/").content.decode()
    assert "36,000" in page and "TgTThue" in page
    listing = client.get(CHANGELIST, {"findings": "true"}).content.decode()
    assert "00000501" in listing and "1 consistency finding" in listing and ">502<" not in listing
    assert "00000501" not in client.get(CHANGELIST, {"findings": "false"}).content.decode()


def test_import_page_shows_the_finding(finance, password):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = Client()
    assert client.login(email=finance.email, password=password)
    upload = SimpleUploadedFile("d.xml", header_disagrees(), content_type="application/xml")
    page = client.post(f"{CHANGELIST}import/", {"files": [upload]}).content.decode()
    assert "TgTThue" in page and "36,000" in page
