"""`manage.py verify_invoice_signatures`: invoices imported before verification existed (or while it was off)
are checked again from their stored source files; what changed is written, audited and said."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from audit.models import AuditEntry
from invoices.models import Invoice
from invoices.sample_signing import ThrowawayCA, sign_invoice
from invoices.services import invoice_signature_override, invoices_import, invoices_verify_signatures
from tests.invoices.xmlgen import SELLER_TAX_CODE, L, invoice

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def signer():
    return ThrowawayCA.create().issue(tax_code=SELLER_TAX_CODE)


def signed(signer, number: str) -> bytes:
    return sign_invoice(invoice(number=number, lines=[L("1000000")], summaries=[("10%", "1000000", "100000")]), signer)


def unchecked(settings, finance, files: dict[str, bytes]) -> dict[str, Invoice]:
    """Imported with verification off, as before issue 18."""
    settings.INVOICE_VERIFY_SIGNATURES = False
    report = invoices_import(uploads=list(files.items()), actor=finance)
    settings.INVOICE_VERIFY_SIGNATURES = True
    return {e.name: Invoice.objects.get(pk=e.invoice_id) for _u, e in report.entries()}


def run(*args: str) -> tuple[int, str]:
    out = StringIO()
    try:
        call_command("verify_invoice_signatures", *args, stdout=out)
    except SystemExit as exit_:
        return int(exit_.code or 0), out.getvalue()
    return 0, out.getvalue()


def test_unchecked_invoices_are_checked_again_audited_and_the_refused_named(settings, finance, signer):
    tampered = signed(signer, "802").replace(b"<TgTTTBSo>1100000", b"<TgTTTBSo>1100001")
    rows = unchecked(settings, finance, {"good.xml": signed(signer, "801"), "bad.xml": tampered})
    assert {r.seller_signature for r in rows.values()} == {"unchecked"}
    status, out = run()
    assert status == 1, out  # someone has to look at the refused one
    good, bad = (Invoice.objects.get(pk=rows[name].pk) for name in ("good.xml", "bad.xml"))
    assert (good.seller_signature, good.seller_certificate_matches, good.tax_authority_signature) == (
        "valid",
        True,
        "absent",
    )
    assert bad.seller_signature == "invalid" and bad.signature_details["seller"]["code"] == "digest"
    assert f"Invoice #{bad.pk} may not be paid" in out and "2 invoices checked, 2 changed, 1 may not be paid" in out
    entry = AuditEntry.objects.get(action="verify_signatures", record_id=str(bad.pk))
    assert entry.metadata["before"]["seller_signature"] == "unchecked"
    assert entry.metadata["after"]["seller_signature"] == "invalid"
    assert entry.actor == "system:verify_invoice_signatures"
    # Nothing is left unchecked: a second run checks nothing and changes nothing.
    assert run() == (0, "0 invoices checked, 0 changed, 0 may not be paid.\n")


def test_all_rechecks_without_writing_what_did_not_change_and_keeps_the_override(settings, finance, owner, signer):
    tampered = signed(signer, "804").replace(b"<TgTTTBSo>1100000", b"<TgTTTBSo>1100001")
    imported = invoices_import(uploads=[("a.xml", signed(signer, "803")), ("b.xml", tampered)], actor=finance)
    bad = Invoice.objects.get(pk=imported.uploads[1].entries[0].invoice_id)
    invoice_signature_override(invoice=bad, actor=owner, reason="Seller confirmed in writing")
    entries = AuditEntry.objects.count()
    result = invoices_verify_signatures(everything=True)
    assert (result.checked, result.changed, result.refused) == (2, [], [])
    assert AuditEntry.objects.count() == entries
    assert Invoice.objects.get(pk=bad.pk).signature_override_reason == "Seller confirmed in writing"


def test_an_override_given_for_other_outcomes_is_withdrawn(settings, finance, owner, signer):
    rows = unchecked(settings, finance, {"x.xml": signed(signer, "805")})
    row = rows["x.xml"]
    # Stored as an older check saw it (refused), and overridden for that outcome by an owner.
    Invoice.objects.filter(pk=row.pk).update(seller_signature="invalid", tax_authority_signature="absent")
    invoice_signature_override(invoice=Invoice.objects.get(pk=row.pk), actor=owner, reason="ok")
    result = invoices_verify_signatures(ids=[row.pk])
    after = Invoice.objects.get(pk=row.pk)
    assert result.changed == [row.pk] and after.seller_signature == "valid"
    assert (after.signature_override_reason, after.signature_override_by_id, after.signature_override_at) == (
        "",
        None,
        None,
    )
    assert AuditEntry.objects.get(action="verify_signatures", record_id=str(row.pk)).metadata["override_withdrawn"]


def test_the_summary_speaks_vietnamese(settings, finance, signer):
    from django.utils import translation

    unchecked(settings, finance, {"v.xml": signed(signer, "806")})
    with translation.override("vi"):
        status, out = run()
    assert status == 0 and "1 hóa đơn đã kiểm tra" in out, out
