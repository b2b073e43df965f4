"""The import service against real PostgreSQL: results per entry, duplicates, ZIP safety,
all-or-nothing entries, corrections, flags and the audit trail."""

from __future__ import annotations

import hashlib
import io
import stat
import time
import zipfile
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.models import AuditEntry
from files.models import StoredFile
from invoices.importing import Importer
from invoices.models import Invoice, InvoiceService, InvoiceStatus
from invoices.services import invoices_import
from tests.invoices.factories import HOSTILE, create_invoice, fixture, import_one, invoice_xml, zip_of

pytestmark = pytest.mark.django_db

SAMPLES = ["basic_10pct.xml", "mixed_rates_no_bank.xml", "branch_seller_vat_in_ttkhac.xml"]


def demo_sample(name: str) -> bytes:
    from invoices.demo import DEMO_DIR

    return (DEMO_DIR / name).read_bytes()


def table_counts() -> tuple[int, int, int]:
    return Invoice.objects.count(), InvoiceService.objects.count(), StoredFile.objects.count()


def results(report) -> list[tuple[str, str]]:
    return [(entry.name, entry.result) for _upload, entry in report.entries()]


def test_samples_import_with_every_field(finance):
    report = invoices_import(uploads=[(name, demo_sample(name)) for name in SAMPLES], actor=finance)
    assert [u.result for u in report.uploads] == ["success"] * 3
    invoice = Invoice.objects.get(number_int=1024)
    assert (invoice.template_code, invoice.series, invoice.number) == ("1", "C26TSM", "00001024")
    assert invoice.seller_tax_code == "0312345678"
    assert invoice.total_payable == Decimal("21670000.00")
    assert invoice.tax_authority_code == "06C6F70F01219B54B624DF19C8EA78BB47"
    assert invoice.status == InvoiceStatus.IMPORTED
    assert invoice.imported_by == finance
    assert invoice.content_hash == hashlib.sha256(demo_sample("basic_10pct.xml")).hexdigest()
    assert invoice.source_file.sha256 == invoice.content_hash
    assert invoice.source_file.original_name == "basic_10pct.xml"
    assert (invoice.payment_type, invoice.payment_bank_account, invoice.payment_account_name) == (
        "bank_transfer",
        "0071000123456",
        invoice.seller_name,
    )
    assert invoice.rate_summaries[0]["tax_amount"] == "1970000.00"
    lines = list(invoice.services.order_by("position"))
    assert [line.tax_amount for line in lines] == [Decimal("1500000.00"), Decimal("470000.00")]

    branch = Invoice.objects.get(seller_tax_code="0401122334-001")
    assert branch.tax_authority_code == "" and branch.number_int == 5
    assert branch.services.get(position=1).tax_amount_source == "line"
    assert branch.services.get(position=2).nature == 4
    no_bank = Invoice.objects.get(number_int=77)
    assert (no_bank.payment_type, no_bank.payment_bank_account) == ("", "")
    assert sorted(no_bank.services.values_list("tax_rate_text", flat=True)) == ["10%", "8%", "KCT"]


def test_shared_zip_then_reimport_is_skipped_and_inserts_nothing(finance):
    archive = demo_sample("basic_10pct.xml")
    zipped = zip_of([(name, demo_sample(name)) for name in SAMPLES])
    first = invoices_import(uploads=[("batch.zip", zipped)], actor=finance)
    assert first.uploads[0].kind == "zip" and first.uploads[0].result == "success"
    before = table_counts()
    again = invoices_import(uploads=[("batch.zip", zipped), ("one.xml", archive)], actor=finance)
    assert [u.result for u in again.uploads] == ["skipped", "skipped"]
    assert all("Already imported" in e.reason for _u, e in again.entries())
    assert table_counts() == before


def test_same_business_invoice_in_another_file_is_skipped(finance):
    import_one(fixture("leading_zeros.xml"))
    before = table_counts()
    report = invoices_import(uploads=[("copy.xml", fixture("no_leading_zeros.xml"))], actor=finance)
    entry = report.uploads[0].entries[0]
    assert entry.result == "skipped" and "seller, form, series, number" in entry.reason
    assert table_counts() == before


def test_same_tax_authority_code_is_skipped(finance):
    first = import_one(fixture("no_namespace.xml"))
    other_number = fixture("no_namespace.xml").replace(b"<SHDon>00000101</SHDon>", b"<SHDon>00000999</SHDon>")
    report = invoices_import(uploads=[("x.xml", other_number)], actor=finance)
    entry = report.uploads[0].entries[0]
    assert entry.result == "skipped" and entry.invoice_id == first.pk
    assert "tax-authority code" in entry.reason


def test_duplicates_inside_one_upload(finance):
    same = fixture("no_namespace.xml")
    zipped = zip_of(
        [
            ("a.xml", same),
            ("b.xml", same),
            ("c.xml", fixture("leading_zeros.xml")),
            ("d.xml", fixture("no_leading_zeros.xml")),
        ]
    )
    report = invoices_import(uploads=[("dups.zip", zipped)], actor=finance)
    assert results(report) == [("a.xml", "success"), ("b.xml", "skipped"), ("c.xml", "success"), ("d.xml", "skipped")]
    assert report.uploads[0].result == "success"
    assert Invoice.objects.count() == 2


def test_mixed_zip_is_partial_and_good_entries_import(finance):
    zipped = zip_of(
        [("good.xml", invoice_xml(1)), ("bad.xml", fixture("missing_number.xml")), ("good2.xml", invoice_xml(2))]
    )
    report = invoices_import(uploads=[("mixed.zip", zipped)], actor=finance)
    upload = report.uploads[0]
    assert upload.result == "partial"
    assert upload.counts() == {"success": 2, "skipped": 0, "failure": 1}
    assert "TTChung/SHDon: missing required value" in upload.entries[1].reason
    assert Invoice.objects.count() == 2


@pytest.mark.parametrize("name", sorted(p.name for p in HOSTILE.glob("*.xml")))
def test_each_hostile_file_fails_fast_and_stores_nothing_while_others_import(name, finance):
    good = invoice_xml(42)
    before = table_counts()
    started = time.perf_counter()
    report = invoices_import(
        uploads=[
            ("first.xml", invoice_xml(41)),
            (name, fixture(name)),
            ("hostile.zip", zip_of([(name, fixture(name)), ("ok.xml", good)])),
        ],
        actor=finance,
    )
    assert time.perf_counter() - started < 2
    plain, zipped = report.uploads[1], report.uploads[2]
    assert plain.result == "failure" and plain.entries[0].reason
    assert zipped.result == "partial"
    assert zipped.entries[0].result == "failure" and zipped.entries[0].reason
    assert zipped.entries[1].result == "success"
    # Only the two good invoices (2 lines each) and their files: nothing of the hostile one.
    assert table_counts() == (before[0] + 2, before[1] + 4, before[2] + 2)


def _zip_with_info(info: zipfile.ZipInfo, content: bytes, extra: list[tuple[str, bytes]] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(info, content)
        for name, data in extra or []:
            archive.writestr(name, data)
    return buffer.getvalue()


def _symlink() -> bytes:
    info = zipfile.ZipInfo("link.xml")
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return _zip_with_info(info, b"/etc/passwd", [("ok.xml", invoice_xml(7))])


def _encrypted() -> bytes:
    # zipfile cannot write encrypted entries: set the "encrypted" flag bit in both headers.
    raw = bytearray(zip_of([("secret.xml", invoice_xml(6)), ("ok.xml", invoice_xml(7))]))
    local = raw.find(b"PK\x03\x04")
    raw[local + 6] |= 0x1
    central = raw.find(b"PK\x01\x02")
    raw[central + 8] |= 0x1
    return bytes(raw)


def _bomb() -> bytes:
    return zip_of([("bomb.xml", b"<HDon>" + b" " * (4 * 1024 * 1024) + b"</HDon>"), ("ok.xml", invoice_xml(7))])


def _patch_crc() -> bytes:
    content = invoice_xml(8)
    raw = bytearray(zip_of([("crc.xml", content), ("ok.xml", invoice_xml(7))], compression=zipfile.ZIP_STORED))
    position = raw.find(b"<SHDon>")
    raw[position + 7] = ord("9") if raw[position + 7] != ord("9") else ord("8")
    return bytes(raw)


ZIP_CASES = {
    "path traversal": (zip_of([("../../etc/evil.xml", invoice_xml(5)), ("ok.xml", invoice_xml(7))]), "Unsafe path"),
    "absolute path": (zip_of([("/tmp/evil.xml", invoice_xml(5)), ("ok.xml", invoice_xml(7))]), "Unsafe path"),
    "windows path": (zip_of([("..\\..\\evil.xml", invoice_xml(5)), ("ok.xml", invoice_xml(7))]), "Unsafe path"),
    "nested zip": (
        zip_of([("inner.zip", zip_of([("x.xml", invoice_xml(5))])), ("ok.xml", invoice_xml(7))]),
        "Nested archives",
    ),
    "nested zip named xml": (
        zip_of([("inner.xml", zip_of([("x.xml", invoice_xml(5))])), ("ok.xml", invoice_xml(7))]),
        "Nested archives",
    ),
    "non-XML entry": (zip_of([("scan.pdf", b"%PDF-1.4 ..."), ("ok.xml", invoice_xml(7))]), "Not an XML file"),
    "symlink": (_symlink(), "Symbolic links"),
    "encrypted": (_encrypted(), "Encrypted"),
    "compression bomb": (_bomb(), "compression ratio"),
    "bad CRC": (_patch_crc(), "cannot be read"),
}


@pytest.mark.parametrize("case", sorted(ZIP_CASES))
def test_zip_safety_cases_are_reported_not_followed(case, finance):
    content, words = ZIP_CASES[case]
    before = table_counts()
    started = time.perf_counter()
    report = invoices_import(uploads=[("upload.zip", content)], actor=finance)
    assert time.perf_counter() - started < 2
    upload = report.uploads[0]
    assert upload.result == "partial", upload.as_dict()
    failure = upload.entries[0]
    assert failure.result == "failure" and words in failure.reason
    assert upload.entries[-1].result == "success"
    assert table_counts()[0] == before[0] + 1


def test_zip_over_entry_limit_is_refused_whole(settings, finance):
    settings.INVOICE_IMPORT_MAX_ZIP_ENTRIES = 3
    content = zip_of([(f"{n}.xml", invoice_xml(n)) for n in range(1, 5)])
    report = invoices_import(uploads=[("many.zip", content), ("ok.xml", invoice_xml(9))], actor=finance)
    assert report.uploads[0].result == "failure" and "over the limit of 3" in report.uploads[0].reason
    assert report.uploads[1].result == "success"
    assert Invoice.objects.count() == 1
    assert report.failed


def test_zip_over_expanded_size_is_refused_whole(settings, finance):
    settings.INVOICE_IMPORT_MAX_ZIP_EXPANDED_BYTES = 5000
    content = zip_of([(f"{n}.xml", invoice_xml(n, lines=5)) for n in range(1, 5)])
    report = invoices_import(uploads=[("big.zip", content), ("ok.xml", invoice_xml(9))], actor=finance)
    assert report.uploads[0].result == "failure" and "expands to" in report.uploads[0].reason
    assert report.uploads[1].result == "success"
    assert Invoice.objects.count() == 1


def test_oversize_xml_is_refused(settings, finance):
    settings.INVOICE_IMPORT_MAX_XML_BYTES = 3000
    report = invoices_import(
        uploads=[
            ("big.xml", invoice_xml(1, lines=10)),
            ("small.xml", invoice_xml(2, lines=1)),
            ("big.zip", zip_of([("b.xml", invoice_xml(3, lines=10)), ("s.xml", invoice_xml(4, lines=1))])),
        ],
        actor=finance,
    )
    assert report.uploads[0].result == "failure" and "limit of 3,000 bytes" in report.uploads[0].reason
    assert report.uploads[1].result == "success"
    assert [e.result for e in report.uploads[2].entries] == ["failure", "success"]
    assert Invoice.objects.count() == 2


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"PK\x03\x04garbage-that-is-not-a-zip", "Not a valid ZIP"),
        (zip_of([]), "holds no invoice"),
        (zip_of([("__MACOSX/._a.xml", b"junk"), ("folder/", b"")]), "holds no invoice"),
    ],
)
def test_broken_or_empty_archives(content, words, finance):
    report = invoices_import(uploads=[("x.zip", content)], actor=finance)
    assert report.uploads[0].result == "failure" and words in report.uploads[0].reason


def test_replacement_obsoletes_its_original_and_adjustment_links(finance):
    original = import_one(fixture("no_namespace.xml"))
    adjustment = import_one(fixture("adjustment_negative.xml"))
    assert adjustment.original == original and adjustment.related_kind == 2
    original.refresh_from_db()
    assert original.status == InvoiceStatus.IMPORTED
    replacement = import_one(fixture("replacement.xml"))
    original.refresh_from_db()
    assert replacement.original == original and replacement.related_kind == 1
    assert original.status == InvoiceStatus.REDUNDANT
    assert not original.superseded_while_linked


def test_original_arriving_after_its_replacement_is_imported_obsolete(finance):
    replacement = import_one(fixture("replacement.xml"))
    original = import_one(fixture("no_namespace.xml"))
    replacement.refresh_from_db()
    assert replacement.original == original
    assert original.status == InvoiceStatus.REDUNDANT


def test_original_and_replacement_in_the_same_zip(finance):
    report = invoices_import(
        uploads=[("pair.zip", zip_of([("o.xml", fixture("no_namespace.xml")), ("r.xml", fixture("replacement.xml"))]))],
        actor=finance,
    )
    assert report.uploads[0].result == "success"
    original, replacement = Invoice.objects.get(number_int=101), Invoice.objects.get(number_int=111)
    assert replacement.original == original and original.status == InvoiceStatus.REDUNDANT


def test_replacement_of_an_invoice_in_a_pr_flags_it(finance):
    payments = pytest.importorskip("payments.models")
    original = import_one(fixture("no_namespace.xml"))
    pr = payments.PaymentRequest.objects.create(name="PR", amount=Decimal("1100000"), maker=finance)
    payments.PRInvoice.objects.create(pr=pr, invoice=original)
    import_one(fixture("replacement.xml"))
    original.refresh_from_db()
    assert original.status == InvoiceStatus.IMPORTED
    assert original.superseded_while_linked


def test_replacement_of_a_completed_invoice_flags_it(finance):
    from invoices.services import invoices_mark_completed

    original = import_one(fixture("no_namespace.xml"))
    invoices_mark_completed(invoices=[original], actor=finance)
    import_one(fixture("replacement.xml"))
    original.refresh_from_db()
    assert original.status == InvoiceStatus.COMPLETED and original.superseded_while_linked


def test_foreign_buyer_tax_code_is_flagged_when_company_tax_code_is_set(settings, finance):
    settings.COMPANY_TAX_CODE = "0316543210"
    ours = import_one(fixture("no_namespace.xml"))
    branch = import_one(fixture("schema_200.xml").replace(b"<MST>0316543210</MST>", b"<MST>0316543210-002</MST>"))
    foreign = import_one(fixture("branch_buyer_other_company.xml"))
    assert not ours.buyer_tax_code_mismatch and not branch.buyer_tax_code_mismatch
    assert foreign.buyer_tax_code_mismatch


def test_no_flag_without_company_tax_code(settings, finance):
    settings.COMPANY_TAX_CODE = ""
    assert not import_one(fixture("branch_buyer_other_company.xml")).buyer_tax_code_mismatch


def test_every_upload_gets_one_semantic_audit_entry_and_rows_are_audited(finance):
    before = AuditEntry.objects.filter(action="import").count()
    report = invoices_import(
        uploads=[("a.xml", invoice_xml(1)), ("b.zip", zip_of([("c.xml", invoice_xml(2))]))], actor=finance
    )
    entries = AuditEntry.objects.filter(action="import").order_by("id")
    assert entries.count() == before + 2
    last = entries.last()
    assert last.metadata["file"] == "b.zip" and last.metadata["success"] == 1
    assert last.actor == finance.email
    invoice_id = report.uploads[0].entries[0].invoice_id
    rows = AuditEntry.objects.filter(table_name="invoices", record_id=str(invoice_id), action="INSERT")
    assert rows.count() == 1 and rows.get().actor == finance.email
    assert AuditEntry.objects.filter(table_name="invoice_services", action="INSERT").count() >= 2


def test_a_conflict_during_the_batch_write_falls_back_to_one_savepoint_per_entry(monkeypatch, finance):
    existing = import_one(fixture("leading_zeros.xml"))
    real = Importer._drop_known_invoices
    calls = {"n": 0}

    def skip_the_precheck_once(self, items):
        calls["n"] += 1
        return items if calls["n"] == 1 else real(self, items)

    monkeypatch.setattr(Importer, "_drop_known_invoices", skip_the_precheck_once)
    zipped = zip_of(
        [("new.xml", invoice_xml(3)), ("dup.xml", fixture("no_leading_zeros.xml")), ("new2.xml", invoice_xml(4))]
    )
    report = invoices_import(uploads=[("race.zip", zipped)], actor=finance)
    assert results(report) == [("new.xml", "success"), ("dup.xml", "skipped"), ("new2.xml", "success")]
    assert report.uploads[0].entries[1].invoice_id == existing.pk
    assert Invoice.objects.count() == 3


def test_progress_callback_counts_every_entry(settings, finance):
    settings.INVOICE_IMPORT_BATCH_SIZE = 2
    seen: list[int] = []
    invoices_import(
        uploads=[("z.zip", zip_of([(f"{n}.xml", invoice_xml(n)) for n in range(1, 6)]))],
        actor=finance,
        progress=seen.append,
    )
    assert sum(seen) == 5


def test_file_objects_are_accepted(finance):
    report = invoices_import(uploads=[("f.xml", io.BytesIO(invoice_xml(1)))], actor=finance)
    assert report.uploads[0].result == "success"


@pytest.mark.django_db(transaction=True)
def test_writer_threads_store_batches_on_their_own_connections(settings):
    settings.INVOICE_IMPORT_WRITERS = 2
    settings.INVOICE_IMPORT_BATCH_SIZE = 3
    assert not connection.in_atomic_block
    entries = [(f"{n}.xml", invoice_xml(n)) for n in range(1, 11)]
    entries += [("again-1.xml", invoice_xml(1)), ("bad.xml", fixture("non_numeric_amount.xml"))]
    report = invoices_import(uploads=[("threads.zip", zip_of(entries))], actor=None)
    upload = report.uploads[0]
    assert upload.counts() == {"success": 10, "skipped": 1, "failure": 1}
    assert upload.result == "partial"
    assert Invoice.objects.count() == 10
    assert {e.invoice_id for e in upload.entries[:10]} == set(Invoice.objects.values_list("pk", flat=True))
    again = invoices_import(uploads=[("threads.zip", zip_of(entries))], actor=None)
    assert again.uploads[0].counts() == {"success": 0, "skipped": 11, "failure": 1}


@pytest.mark.django_db(transaction=True)
def test_writer_threads_carry_the_actor_to_the_audit_rows(settings):
    from tests.accounts.factories import UserFactory

    settings.INVOICE_IMPORT_WRITERS = 2
    settings.INVOICE_IMPORT_BATCH_SIZE = 2
    user = UserFactory(email="importer@acountee.test")
    report = invoices_import(
        uploads=[("t.zip", zip_of([(f"{n}.xml", invoice_xml(n)) for n in range(1, 6)]))], actor=user
    )
    ids = [str(e.invoice_id) for e in report.uploads[0].entries]
    actors = set(
        AuditEntry.objects.filter(table_name="invoices", action="INSERT", record_id__in=ids).values_list(
            "actor", flat=True
        )
    )
    assert actors == {"importer@acountee.test"}
    assert Invoice.objects.filter(imported_by=user).count() == 5


def test_other_archives_at_top_level_are_refused(finance):
    import gzip

    report = invoices_import(
        uploads=[("invoices.gz", gzip.compress(invoice_xml(1))), ("x.rar", b"Rar!\x1a\x07\x00")], actor=finance
    )
    assert [u.result for u in report.uploads] == ["failure", "failure"]
    assert all("Not an XML file or ZIP archive" in u.reason for u in report.uploads)
    assert Invoice.objects.count() == 0


def test_an_unavailable_database_is_an_error_not_a_failure_per_entry(monkeypatch, finance):
    from django.db import OperationalError

    def down(self, items):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(Importer, "_write", down)
    with pytest.raises(OperationalError):
        invoices_import(
            uploads=[("z.zip", zip_of([("a.xml", invoice_xml(1)), ("b.xml", invoice_xml(2))]))], actor=finance
        )


@pytest.mark.django_db(transaction=True)
def test_replacement_and_original_in_concurrent_batches_end_up_linked(settings):
    settings.INVOICE_IMPORT_WRITERS = 2
    settings.INVOICE_IMPORT_BATCH_SIZE = 1  # each in its own batch, possibly stored at the same time
    entries = [
        ("r.xml", fixture("replacement.xml")),
        ("o.xml", fixture("no_namespace.xml")),
        ("a.xml", fixture("adjustment_negative.xml")),
    ]
    report = invoices_import(uploads=[("pair.zip", zip_of(entries))], actor=None)
    assert report.uploads[0].result == "success"
    original = Invoice.objects.get(number_int=101)
    assert Invoice.objects.get(number_int=111).original == original
    assert Invoice.objects.get(number_int=110).original == original
    assert original.status == InvoiceStatus.REDUNDANT


def test_the_duplicate_check_by_tax_authority_code_reads_its_index():
    """Issue #22: the import's cost must not grow with the table. Its duplicate check by tax-authority code read
    every invoice at 1,000,000 (half a second per batch): the unique index is partial (invoices without a code
    share ''), and PostgreSQL proves a partial index's predicate from `= ANY(array)` of at most 100 constants only,
    so batches of 500 codes could not use it until the query repeated the predicate."""
    create_invoice(1)
    entries = [(f"{n}.xml", invoice_xml(n, lines=1)) for n in range(2, 124)] + [("dup.xml", invoice_xml(1))]
    with CaptureQueriesContext(connection) as captured:
        invoices_import(uploads=[("batch.zip", zip_of(entries))], actor=None)
    lookups = [q["sql"] for q in captured.captured_queries if "WHERE tax_authority_code = ANY" in q["sql"]]
    assert lookups
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # the test's own transaction; a tiny table
        for sql in lookups:
            cursor.execute("EXPLAIN (FORMAT JSON) " + sql)
            nodes = _plan_nodes(cursor.fetchone()[0][0]["Plan"])
            assert {n.get("Index Name") for n in nodes} - {None} == {"invoices_mccqt_unique"}, sql[-200:]
            assert all(n.get("Relation Name") != "invoices" or n["Node Type"] != "Seq Scan" for n in nodes)


def _plan_nodes(node: dict) -> list[dict]:
    return [node] + [n for child in node.get("Plans", []) for n in _plan_nodes(child)]
