"""Paid-PR import: preview statuses, completion per row, idempotent re-run, the export's XLSX
round trip, and hostile files that must complete nothing."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook, load_workbook

from invoices.models import Invoice, InvoiceStatus
from payments.models import PaymentRequest, PaymentRequestStatus
from tests.accounts.factories import UserFactory
from tests.payments.factories import make_pr
from tests.workbench.factories import approved_pr, direct_pr

pytestmark = pytest.mark.django_db
URL = "/api/workbench/import-paid/"


@pytest.fixture
def boss(db):
    return UserFactory(roles=["bod"])


@pytest.fixture
def prs(clerk, boss):
    from payments.services import payment_request_complete

    a = approved_pr(maker=clerk, approver=boss, name="A")
    b = direct_pr(maker=clerk, approver=boss, accounts=["0451"], name="B")
    c = approved_pr(maker=clerk, approver=boss, name="C")
    done_same = payment_request_complete(
        pr=approved_pr(maker=clerk, approver=boss), actor=clerk, payment_reference="FT-OLD-1"
    )
    done_other = payment_request_complete(
        pr=approved_pr(maker=clerk, approver=boss), actor=clerk, payment_reference="FT-OLD-2"
    )
    draft = make_pr(maker=clerk)
    return {"a": a, "b": b, "c": c, "done_same": done_same, "done_other": done_other, "draft": draft}


def _upload(content: bytes | str, name: str = "paid.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content.encode("utf-8") if isinstance(content, str) else content)


def _post(client, content, *, dry_run: bool = False, name: str = "paid.csv"):
    url = URL + ("?dry_run=true" if dry_run else "")
    return client.post(url, {"file": _upload(content, name)}, format="multipart")


def _state() -> list[tuple]:
    return list(PaymentRequest.objects.order_by("id").values_list("id", "status", "payment_reference"))


def _file(prs) -> str:
    return "\r\n".join(
        [
            "pr_id,payment_reference",
            f"{prs['a'].pk},FT26001",
            f"{prs['b'].pk}, FT26002 ",
            "999999999,FT9",
            f"{prs['draft'].pk},FT26003",
            f"{prs['a'].pk},FT26001",
            f"{prs['c'].pk},",
            f"{prs['done_same'].pk},FT-OLD-1",
            f"{prs['done_other'].pk},FT-NEW",
            "abc,FT1",
            "12.5,FT2",
            f"{prs['c'].pk + 0},=cmd|' /C calc'!A0",
            "",
        ]
    )


def test_dry_run_statuses_change_nothing(clerk_client, prs):
    before = _state()
    response = _post(clerk_client, _file(prs), dry_run=True)
    assert response.status_code == 200, response.content
    body = response.json()
    assert [(r["row"], r["status"]) for r in body["rows"]] == [
        (2, "ok"),
        (3, "ok"),
        (4, "unknown_pr"),
        (5, "not_approved"),
        (6, "duplicate_row"),
        (7, "empty_reference"),
        (8, "already_completed"),
        (9, "already_completed_other_reference"),
        (10, "invalid_id"),
        (11, "invalid_id"),
        (12, "duplicate_row"),
    ]
    assert body["rows"][7]["current_reference"] == "FT-OLD-2"
    assert body["dry_run"] is True and body["statuses"]["ok"] == 2 and body["completed"] == 0
    assert _state() == before


def test_import_completes_valid_rows_and_rerun_changes_nothing(clerk_client, prs):
    response = _post(clerk_client, _file(prs))
    assert response.status_code == 200, response.content
    body = response.json()
    results = {r["row"]: (r["result"], r["code"]) for r in body["rows"]}
    assert results[2] == results[3] == ("completed", "")
    assert results[4] == ("skipped", "UNKNOWN_PR")
    assert results[8] == ("unchanged", "")
    assert results[9] == ("skipped", "ALREADY_COMPLETED_OTHER_REFERENCE")
    assert body["completed"] == 2 and body["changed"] is True
    a, b = PaymentRequest.objects.get(pk=prs["a"].pk), PaymentRequest.objects.get(pk=prs["b"].pk)
    assert (a.status, a.payment_reference) == (PaymentRequestStatus.COMPLETED, "FT26001")
    assert (b.status, b.payment_reference) == (PaymentRequestStatus.COMPLETED, "FT26002")
    assert Invoice.objects.get(pr_link__pr=b).status == InvoiceStatus.COMPLETED
    assert PaymentRequest.objects.get(pk=prs["c"].pk).status == PaymentRequestStatus.APPROVED
    assert PaymentRequest.objects.get(pk=prs["done_other"].pk).payment_reference == "FT-OLD-2"
    after = _state()

    again = _post(clerk_client, _file(prs)).json()
    assert again["completed"] == 0 and again["changed"] is False
    assert again["message"].startswith("Nothing changed")
    assert {r["row"]: r["result"] for r in again["rows"]}[2] == "unchanged"
    assert _state() == after


def test_import_needs_complete_permission(client_for, workbench_team, prs):
    reader = client_for(UserFactory(roles=[], team=workbench_team))
    before = _state()
    assert _post(reader, _file(prs), dry_run=True).status_code == 200
    response = _post(reader, _file(prs))
    assert response.status_code == 403
    assert _state() == before


def test_import_refused_without_capability(client_for, finance, prs):
    response = _post(client_for(finance), _file(prs))
    assert response.status_code == 403 and response.json()["error"]["code"] == "NO_WORKBENCH_ACCESS"


def test_xlsx_round_trip(clerk_client, prs, month):
    exported = load_workbook(
        io.BytesIO(
            b"".join(clerk_client.get("/api/workbench/export/", {"month": month, "format": "xlsx"}).streaming_content)
        )
    )
    ws = exported.active
    header = [c.value for c in ws[1]]
    id_col, ref_col = header.index("PR id"), header.index("Payment reference")
    out = Workbook()
    sheet = out.active
    for i, row in enumerate(ws.iter_rows(values_only=True)):
        row = list(row)
        if i and isinstance(row[id_col], int):
            row[ref_col] = f"FT-X{row[id_col]}"
        sheet.append(row)
    buffer = io.BytesIO()
    out.save(buffer)
    body = _post(clerk_client, buffer.getvalue(), name="paid.xlsx").json()
    assert body["completed"] == 3, body  # a, b, c (the total row is skipped)
    assert PaymentRequest.objects.get(pk=prs["c"].pk).payment_reference == f"FT-X{prs['c'].pk}"
    assert len(body["rows"]) == 3


@pytest.mark.parametrize(
    "content,code",
    [
        ("id;reference\r\n1;FT1\r\n", "WRONG_HEADER"),
        ("pr_id;payment_reference\r\n1;FT1\r\n", "WRONG_HEADER"),
        ("pr_id,amount\r\n1,5\r\n", "WRONG_HEADER"),
        ("1,FT1\r\n2,FT2\r\n", "WRONG_HEADER"),
        ("", "EMPTY_FILE"),
        ("   \r\n", "EMPTY_FILE"),
        (b"pr_id,payment_reference\r\n" + "1,Hà".encode("latin-1"), "NOT_UTF8"),
        ("pr_id,payment_reference\r\n1,Trần Thị Hà".encode("utf-16"), "NOT_UTF8"),
        (b"\x00\x01\x02\xff\xfe binary garbage \x00" * 50, "NOT_A_CSV"),
        (b"PK\x03\x04 not really a zip at all", "BAD_XLSX"),
        ('pr_id,payment_reference\r\n1,"unterminated\r\n', "BAD_CSV"),
    ],
)
def test_hostile_files_fail_whole_and_complete_nothing(clerk_client, prs, content, code):
    before = _state()
    response = _post(clerk_client, content)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == code
    assert _state() == before


def test_wrong_delimiter_is_explained(clerk_client):
    response = _post(clerk_client, "pr_id;payment_reference\r\n1;FT1\r\n")
    assert "delimiter" in response.json()["error"]["message"]


def test_too_many_rows(clerk_client, prs):
    before = _state()
    content = "pr_id,payment_reference\n" + "".join(f"{i},FT{i}\n" for i in range(1, 100_001))
    response = _post(clerk_client, content)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "TOO_MANY_ROWS"
    assert _state() == before


def test_file_too_large(clerk_client, prs, settings):
    settings.WORKBENCH_IMPORT_MAX_BYTES = 1000
    response = _post(clerk_client, "pr_id,payment_reference\n" + f"{prs['a'].pk},FT1\n" * 200)
    assert response.status_code == 413 and response.json()["error"]["code"] == "FILE_TOO_LARGE"
    assert PaymentRequest.objects.get(pk=prs["a"].pk).status == PaymentRequestStatus.APPROVED


def test_xlsx_zip_bomb_refused(clerk_client, prs):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\x00" * (60 * 1024 * 1024))
    assert len(buffer.getvalue()) < 200_000
    before = _state()
    response = _post(clerk_client, buffer.getvalue(), name="bomb.xlsx")
    assert response.status_code == 413 and response.json()["error"]["code"] == "XLSX_TOO_LARGE"
    assert _state() == before


def test_xlsx_formula_cells_are_not_trusted(clerk_client, prs):
    wb = Workbook()
    ws = wb.active
    ws.append(["pr_id", "payment_reference"])
    ws.append([prs["a"].pk, '=HYPERLINK("http://evil","FT")'])
    buffer = io.BytesIO()
    wb.save(buffer)
    body = _post(clerk_client, buffer.getvalue(), name="paid.xlsx").json()
    # never computed by a spreadsheet: no cached value, so the reference is empty
    assert body["rows"][0]["status"] in {"empty_reference", "invalid_reference"}
    assert PaymentRequest.objects.get(pk=prs["a"].pk).status == PaymentRequestStatus.APPROVED


def test_missing_or_extra_upload_fields(clerk_client):
    assert clerk_client.post(URL, {}, format="multipart").status_code == 400
    response = clerk_client.post(URL, {"file": _upload("pr_id,payment_reference\n"), "x": "1"}, format="multipart")
    assert response.status_code == 400
    assert (
        clerk_client.post(
            URL + "?dry_run=maybe", {"file": _upload("pr_id,payment_reference\n")}, format="multipart"
        ).status_code
        == 400
    )


def test_xlsx_xml_entity_bomb_refused(clerk_client, prs):
    wb = Workbook()
    wb.active.append(["pr_id", "payment_reference"])
    wb.active.append([prs["a"].pk, "FT1"])
    plain = io.BytesIO()
    wb.save(plain)
    lol = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10 if i else "lol"}">' for i in range(10))
    bomb = (
        f'<?xml version="1.0"?><!DOCTYPE w [{lol}]>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        '<row r="1"><c r="A1" t="inlineStr"><is><t>pr_id</t></is></c>'
        '<c r="B1" t="inlineStr"><is><t>payment_reference</t></is></c></row>'
        f'<row r="2"><c r="A2"><v>{prs["a"].pk}</v></c><c r="B2" t="inlineStr"><is><t>&l9;</t></is></c></row>'
        "</sheetData></worksheet>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            dst.writestr(item, bomb if item.filename == "xl/worksheets/sheet1.xml" else src.read(item))
    before = _state()
    response = _post(clerk_client, out.getvalue(), name="bomb.xlsx")
    assert response.status_code == 400 and response.json()["error"]["code"] == "BAD_XLSX"
    assert _state() == before


@pytest.mark.parametrize(
    "header",
    [
        "pr_id,payment_reference",  # the CSV export's header (the contract)
        "PR id,Payment reference",  # English labels (files made before the keys)
        "Mã ĐNTT,Tham chiếu thanh toán",  # Vietnamese labels
        "ID , PAYMENT REFERENCE",  # case and spaces ignored
    ],
)
def test_the_paid_import_reads_keys_and_the_labels_of_every_language(clerk, client_for, prs, header):
    """Whoever exported the file and whoever imports it (issue 20): the header is found in any language."""
    type(clerk).objects.filter(pk=clerk.pk).update(language="en")
    content = f"{header}\r\n{prs['a'].pk},FT-L{prs['a'].pk}\r\n"
    body = _post(client_for(clerk), content, dry_run=True).json()
    assert [r["status"] for r in body["rows"]] == ["ok"], body


def test_an_xlsx_exported_in_vietnamese_imports_for_an_english_user(clerk, client_for, prs, month):
    type(clerk).objects.filter(pk=clerk.pk).update(language="vi")
    raw = b"".join(
        client_for(clerk).get("/api/workbench/export/", {"month": month, "format": "xlsx"}).streaming_content
    )
    ws = load_workbook(io.BytesIO(raw)).active
    header = [c.value for c in ws[1]]
    id_col, ref_col = header.index("Mã ĐNTT"), header.index("Tham chiếu thanh toán")
    out = Workbook()
    for i, row in enumerate(ws.iter_rows(values_only=True)):
        row = list(row)
        if i and isinstance(row[id_col], int):
            row[ref_col] = f"FT-V{row[id_col]}"
        out.active.append(row)
    buffer = io.BytesIO()
    out.save(buffer)
    type(clerk).objects.filter(pk=clerk.pk).update(language="en")
    body = _post(client_for(clerk), buffer.getvalue(), name="paid.xlsx", dry_run=True).json()
    assert [r["status"] for r in body["rows"]] == ["ok", "ok", "ok"], body  # the "Tổng cộng" row is skipped
