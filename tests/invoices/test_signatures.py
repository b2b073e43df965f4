"""Issue 18: is an imported invoice the one its seller (and the tax authority) signed?

Invoices are signed here with a throwaway CA and keys made by the `cryptography` package
(invoices.sample_signing), then tampered with: one byte of an amount, a swapped certificate, the
signature removed, a certificate of another tax code... Each outcome is asserted, then where it shows:
the stored columns, the API, the admin page, the payment-eligibility answer and the owner's override."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from django.test import Client

from acountee.errors import InvalidState, NotOwner, ValidationFailed
from audit.models import AuditEntry
from invoices.models import Invoice, SignatureStatus
from invoices.sample_signing import ThrowawayCA, sign_invoice
from invoices.selectors import SIGNATURE_INVALID, SIGNER_NOT_SELLER, invoice_payment_eligibility
from invoices.services import invoice_signature_override, invoices_import
from invoices.signatures import ABSENT, INVALID, UNSUPPORTED, VALID, verify_signatures
from tests.invoices.xmlgen import SELLER_TAX_CODE, L, invoice

ISSUED = date(2026, 10, 5)
SIGNED_AT = datetime(2026, 10, 5, 3, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def ca():
    return ThrowawayCA.create()


@pytest.fixture(scope="module")
def seller(ca):
    return ca.issue(tax_code=SELLER_TAX_CODE)


@pytest.fixture(scope="module")
def tax_authority(ca):
    return ca.issue(tax_code="0100231226", name="TỔNG CỤC THUẾ")


def plain(**kwargs) -> bytes:
    kwargs.setdefault("lines", [L("1000000")])
    kwargs.setdefault("summaries", [("10%", "1000000", "100000")])
    return invoice(**kwargs)


def signed(seller, **kwargs) -> bytes:
    return sign_invoice(plain(**kwargs), seller, signing_time=SIGNED_AT)


def check(content: bytes, party: str = "seller", seller_tax_code: str = SELLER_TAX_CODE):
    return verify_signatures(content, seller_tax_code=seller_tax_code, issue_date=ISSUED)[party]


# --- outcomes ----------------------------------------------------------------------------------------


def test_a_signed_invoice_is_valid_with_its_certificate_facts(seller):
    result = check(signed(seller))
    assert result.status == VALID and result.code == ""
    assert "MST:0312345678" in result.subject and result.serial == format(seller.cert.serial_number, "X")
    assert result.tax_code == SELLER_TAX_CODE and result.tax_code_matches is True
    assert result.not_before == seller.cert.not_valid_before_utc and result.not_after == seller.cert.not_valid_after_utc
    assert result.signing_time == SIGNED_AT and result.within_validity is True
    assert result.algorithm == "rsa-sha256" and result.chain == "not_checked"


def test_one_byte_of_an_amount_changed_is_invalid(seller):
    content = signed(seller)
    tampered = content.replace(b"<TgTTTBSo>1100000</TgTTTBSo>", b"<TgTTTBSo>1900000</TgTTTBSo>")
    assert len(tampered) == len(content) and tampered != content
    result = check(tampered)
    assert (result.status, result.code) == (INVALID, "digest")


def test_a_bank_account_changed_is_invalid(seller):
    tampered = signed(seller).replace(b"0071000123456", b"0071000123457")
    assert check(tampered).status == INVALID


def test_a_swapped_certificate_is_invalid(ca, seller):
    impostor = ca.issue(tax_code=SELLER_TAX_CODE)  # same subject, another key
    content = signed(seller).decode()
    theirs = re.search(r"<ds:X509Certificate>(.*?)</ds:X509Certificate>", content, re.S).group(1)
    mine = "".join(impostor.pem_chain[0].splitlines()[1:-1])
    result = check(content.replace(theirs, mine).encode())
    assert (result.status, result.code) == (INVALID, "signature")


def test_a_removed_signature_is_absent(seller):
    content = re.sub(rb"<ds:Signature .*</ds:Signature>", b"", signed(seller), flags=re.S)
    assert b"SignatureValue" not in content
    assert check(content).status == ABSENT


def test_an_empty_signature_placeholder_is_absent():
    content = plain(
        signatures='<DSCKS><NBan><Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><SignedInfo/>'
        "</Signature></NBan></DSCKS>"
    )
    assert (check(content).status, check(content).code) == (ABSENT, "empty")


def test_a_certificate_of_another_tax_code_is_flagged(ca):
    stranger = ca.issue(tax_code="0109876543", name="CÔNG TY KHÁC")
    result = check(signed(stranger))
    assert result.status == VALID  # the file is unchanged since that certificate signed it...
    assert (result.tax_code, result.tax_code_matches) == ("0109876543", False)  # ...but it is not the seller's


def test_a_branch_seller_signed_with_its_parent_companys_certificate_matches(seller):
    result = check(signed(seller, seller_tax_code="0312345678-001"), seller_tax_code="0312345678-001")
    assert result.tax_code_matches is True


def test_a_signature_over_something_else_is_invalid(seller):
    content = sign_invoice(plain(mccqt="00ABC"), seller, references=["#Id-MCCQT"], signing_time=SIGNED_AT)
    assert (check(content).status, check(content).code) == (INVALID, "not_covering")


def test_a_certificate_expired_when_it_signed_is_invalid_but_one_expired_since_is_valid(ca):
    old = ca.issue(tax_code=SELLER_TAX_CODE, not_after=datetime(2026, 1, 1, tzinfo=UTC))
    late = check(sign_invoice(plain(), old, signing_time=SIGNED_AT))
    assert (late.status, late.code, late.within_validity) == (INVALID, "outside_validity", False)
    in_time = check(sign_invoice(plain(issue_date="2025-12-20"), old, signing_time=datetime(2025, 12, 20, tzinfo=UTC)))
    assert in_time.status == VALID  # signed while valid: it stays valid after the certificate expires


def test_no_certificate_in_keyinfo_is_unsupported(seller):
    content = re.sub(rb"<ds:KeyInfo>.*</ds:KeyInfo>", b"", signed(seller), flags=re.S)
    assert (check(content).status, check(content).code) == (UNSUPPORTED, "no_certificate")


def test_rsa_sha1_signatures_are_checked_and_the_algorithm_recorded(seller):
    content = sign_invoice(plain(), seller, algorithm="rsa-sha1", digest="sha1", signing_time=SIGNED_AT)
    assert (check(content).status, check(content).algorithm) == (VALID, "rsa-sha1")
    tampered = content.replace(b"<TgTTTBSo>1100000", b"<TgTTTBSo>1100009")
    assert check(tampered).status == INVALID


def test_tax_authority_signature_over_the_data_and_mccqt(seller, tax_authority):
    content = sign_invoice(signed(seller, mccqt="00ABCDEF0123"), tax_authority, party="CQT", signing_time=SIGNED_AT)
    assert check(content, "tax_authority").status == VALID
    assert check(content, "tax_authority").tax_code_matches is None  # not the seller's signature
    assert check(content).status == VALID  # the seller's, unaffected
    recoded = content.replace(b"00ABCDEF0123", b"00ABCDEF0124")
    assert check(recoded, "tax_authority").code == "digest" and check(recoded).status == VALID


def test_tax_authority_signature_not_covering_mccqt_is_invalid(seller, tax_authority):
    base = signed(seller, mccqt="00ABCDEF0123")
    content = sign_invoice(base, tax_authority, party="CQT", references=["#data"], signing_time=SIGNED_AT)
    assert check(content, "tax_authority").code == "not_covering"


def test_no_tax_authority_signature_is_absent(seller):
    assert check(signed(seller), "tax_authority").status == ABSENT


def test_chain_trust_with_a_configured_trust_store(tmp_path, ca, seller):
    from invoices.signatures import load_trust_store

    store_file = tmp_path / "roots.pem"
    store_file.write_bytes(ca.pem)
    content = signed(seller)
    trusted = verify_signatures(
        content, seller_tax_code=SELLER_TAX_CODE, issue_date=ISSUED, trust_store=load_trust_store(str(store_file))
    )
    assert trusted["seller"].chain == "trusted"
    other = tmp_path / "other.pem"
    other.write_bytes(ThrowawayCA.create("Other CA").pem)
    untrusted = verify_signatures(
        content, seller_tax_code=SELLER_TAX_CODE, issue_date=ISSUED, trust_store=load_trust_store(str(other))
    )
    assert (untrusted["seller"].chain, untrusted["seller"].status) == ("untrusted", VALID)


# --- stored, shown, filtered, and what it means for paying ----------------------------------------------


@pytest.fixture
def imported(db, finance, seller, ca):
    good = signed(seller, number="701")
    tampered = signed(seller, number="702").replace(b"<TgTTTBSo>1100000", b"<TgTTTBSo>1100001")
    stranger = signed(ca.issue(tax_code="0109876543"), number="703")
    report = invoices_import(
        uploads=[
            ("good.xml", good),
            ("tampered.xml", tampered),
            ("stranger.xml", stranger),
            ("plain.xml", plain(number="704")),
        ],
        actor=finance,
    )
    entries = {e.name: e for _u, e in report.entries()}
    assert all(e.result == "success" for e in entries.values()), [e.reason for e in entries.values()]
    return {name.removesuffix(".xml"): entry for name, entry in entries.items()}


def test_import_stores_each_outcome_and_says_so(imported):
    rows = {name: Invoice.objects.get(pk=e.invoice_id) for name, e in imported.items()}
    assert rows["good"].seller_signature == SignatureStatus.VALID and rows["good"].seller_certificate_matches is True
    assert rows["good"].signature_details["seller"]["tax_code"] == SELLER_TAX_CODE
    assert rows["tampered"].seller_signature == SignatureStatus.INVALID
    assert (
        rows["stranger"].seller_certificate_matches is False
        and rows["stranger"].seller_certificate_tax_code == "0109876543"
    )
    assert rows["plain"].seller_signature == SignatureStatus.ABSENT and rows["plain"].seller_certificate_matches is None
    assert rows["plain"].tax_authority_signature == SignatureStatus.ABSENT
    assert any("INVALID" in note for note in imported["tampered"].as_dict()["notes"])
    assert any("0109876543" in note for note in imported["stranger"].as_dict()["notes"])
    assert imported["good"].as_dict()["notes"] == []


def test_payment_eligibility(imported):
    verdicts = {
        name: invoice_payment_eligibility(invoice=Invoice.objects.get(pk=e.invoice_id)) for name, e in imported.items()
    }
    assert verdicts["good"].allowed and verdicts["plain"].allowed
    assert (verdicts["tampered"].allowed, verdicts["tampered"].code) == (False, SIGNATURE_INVALID)
    assert (verdicts["stranger"].allowed, verdicts["stranger"].code) == (False, SIGNER_NOT_SELLER)
    with pytest.raises(InvalidState) as refused:
        verdicts["tampered"].raise_if_refused(Invoice.objects.get(pk=imported["tampered"].invoice_id))
    assert refused.value.code == SIGNATURE_INVALID


def test_owner_override_with_a_reason_is_audited(imported, owner, finance):
    tampered = Invoice.objects.get(pk=imported["tampered"].invoice_id)
    with pytest.raises(NotOwner):
        invoice_signature_override(invoice=tampered, actor=finance, reason="trust me")
    with pytest.raises(ValidationFailed):
        invoice_signature_override(invoice=tampered, actor=owner, reason="  ")
    with pytest.raises(InvalidState):
        invoice_signature_override(invoice=Invoice.objects.get(pk=imported["good"].invoice_id), actor=owner, reason="x")
    done = invoice_signature_override(invoice=tampered, actor=owner, reason="Seller re-sent the original by post")
    verdict = invoice_payment_eligibility(invoice=done)
    assert verdict.allowed and verdict.overridden and verdict.code == SIGNATURE_INVALID
    entry = AuditEntry.objects.get(action="override_signature", record_id=str(tampered.pk))
    assert entry.metadata["reason"] == "Seller re-sent the original by post" and entry.actor_user_id == owner.pk
    with pytest.raises(InvalidState):
        invoice_signature_override(invoice=tampered, actor=owner, reason="again")


def test_api_fields_filters_and_override(imported, finance, owner, client_for):
    client = client_for(finance)
    rows = {r["number"]: r for r in client.get("/api/invoices/").json()["results"]}
    assert rows["702"]["seller_signature"] == "invalid" and rows["702"]["payment_eligibility"]["allowed"] is False
    assert rows["701"]["payment_eligibility"] == {"allowed": True, "code": "", "message": "", "overridden": False}
    assert [r["number"] for r in client.get("/api/invoices/", {"seller_signature": "invalid"}).json()["results"]] == [
        "702"
    ]
    assert [r["number"] for r in client.get("/api/invoices/", {"signer_is_seller": "false"}).json()["results"]] == [
        "703"
    ]
    assert client.get("/api/invoices/", {"seller_signature": "forged"}).status_code == 400
    detail = client.get(f"/api/invoices/{imported['good'].invoice_id}/").json()
    assert detail["signature_details"]["seller"]["chain"] == "not_checked"
    url = f"/api/invoices/{imported['tampered'].invoice_id}/signature-override/"
    denied = client.post(url, {"reason": "please"}, format="json")
    assert (denied.status_code, denied.json()["error"]["code"]) == (403, "NOT_OWNER")
    assert client_for(owner).post(url, {}, format="json").status_code == 400
    done = client_for(owner).post(url, {"reason": "Checked with the seller"}, format="json")
    assert done.status_code == 200 and done.json()["payment_eligibility"]["overridden"] is True


def test_admin_page_says_what_is_and_is_not_checked(imported, finance, password):
    client = Client()
    assert client.login(email=finance.email, password=password)
    page = client.get(f"/admin/invoices/invoice/{imported['tampered'].invoice_id}/change/").content.decode()
    assert "Certificate chain trust is not checked" in page
    assert "the signed data was changed after signing" in page and "MST:0312345678" in page
    listing = client.get("/admin/invoices/invoice/", {"seller_signature__exact": "invalid"}).content.decode()
    assert "SIGNATURE CHECK FAILED" in listing and "702" in listing and ">701<" not in listing


def test_verification_can_be_turned_off(settings, seller, finance):
    settings.INVOICE_VERIFY_SIGNATURES = False
    report = invoices_import(uploads=[("s.xml", signed(seller, number="705"))], actor=finance)
    stored = Invoice.objects.get(pk=report.uploads[0].entries[0].invoice_id)
    assert (stored.seller_signature, stored.tax_authority_signature) == ("unchecked", "unchecked")


def test_an_owner_overrides_from_the_invoice_page_with_a_reason(imported, owner, finance, password):
    tampered_id = imported["tampered"].invoice_id
    page_url = f"/admin/invoices/invoice/{tampered_id}/change/"
    override_url = f"/admin/invoices/invoice/{tampered_id}/signature-override/"
    clerk = Client()
    assert clerk.login(email=finance.email, password=password)
    assert "invoice-signature-override" not in clerk.get(page_url).content.decode()
    assert clerk.get(override_url).status_code == 403
    assert clerk.post(override_url, {"reason": "trust me"}).status_code == 403
    boss = Client()
    assert boss.login(email=owner.email, password=password)
    assert 'id="invoice-signature-override"' in boss.get(page_url).content.decode()
    form = boss.get(override_url).content.decode()
    assert "702" in form and 'class="errornote"' in form and 'name="reason"' in form
    refused = boss.post(override_url, {"reason": "   "})
    assert refused.status_code == 200 and "errorlist" in refused.content.decode()
    assert Invoice.objects.get(pk=tampered_id).signature_override_at is None
    done = boss.post(override_url, {"reason": "Người bán xác nhận bằng văn bản"})
    assert done.status_code == 302 and done["Location"].endswith(page_url)
    stored = Invoice.objects.get(pk=tampered_id)
    assert stored.signature_override_by_id == owner.pk and stored.signature_override_reason.startswith("Người bán")
    assert AuditEntry.objects.filter(action="override_signature", record_id=str(tampered_id)).count() == 1
    assert 'id="invoice-signature-override"' not in boss.get(page_url).content.decode()
    assert "nothing to override" in boss.get(override_url).content.decode()
    assert boss.get("/admin/invoices/invoice/999999/signature-override/").status_code == 404
