"""Is this e-invoice the one its seller signed? (docs/invoices.md, "Signatures"). No Django.

Every e-invoice carries the seller's XML signature (`DSCKS/NBan/Signature`: XML-DSig, the certificate in
`KeyInfo`, the seller's tax code in its subject as `MST:<code>`) and, for coded series, the tax
authority's (`DSCKS/CQT/Signature`, over the data and `MCCQT`). Each is checked with signxml (the
mathematics: digests and signature value) and judged here on what it must cover:

- `valid`: the signature verifies with the certificate it carries, covers the invoice data the parser
  reads (`DLHDon`; for the tax authority also `MCCQT`), and the certificate was valid when it signed
  (the signing time it signs, else the issue date);
- `invalid`: anything else that claims to be a signature: data changed after signing (digest), a value
  that does not match the certificate (a swapped certificate), a signature over something else, an
  unreadable certificate or value, a certificate not valid at signing time;
- `absent`: no signature (or an empty placeholder element);
- `unsupported`: a signature we cannot check: no certificate in `KeyInfo`, an algorithm or reference
  form we do not read (HMAC, XPointer, external URIs).

SHA-1 digests and RSA-SHA1 are checked like the others (older vendors still use them; a change to the
data is still caught) and the algorithm is recorded. Certificate chain trust is checked only against a
configured trust store (`trust_store`); otherwise `chain` says `not_checked`.
"""

from __future__ import annotations

import re
from base64 import b64decode
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

from cryptography import x509
from lxml import etree
from signxml import SignatureConfiguration, XMLVerifier
from signxml.algorithms import CanonicalizationMethod, DigestAlgorithm, SignatureMethod
from signxml.exceptions import InvalidDigest, InvalidInput, InvalidSignature

DS = "http://www.w3.org/2000/09/xmldsig#"
VIETNAM = timezone(timedelta(hours=7))

VALID, INVALID, ABSENT, UNSUPPORTED = "valid", "invalid", "absent", "unsupported"
SELLER, TAX_AUTHORITY = "seller", "tax_authority"

_MST_RE = re.compile(r"MST\s*:\s*([0-9]{10}(?:-[0-9]{3})?)", re.IGNORECASE)
_VERIFY_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_comments=False
)
_CONFIG = SignatureConfiguration(
    require_x509=True,
    expect_references=True,  # any number: the data, MCCQT, the signing time…
    signature_methods=frozenset(m for m in SignatureMethod if not m.name.startswith("HMAC")),
    digest_algorithms=frozenset(DigestAlgorithm),
    # .NET's SignedXml, which most vendors use, canonicalises a reference without transforms with C14N 1.0.
    default_reference_c14n_method=CanonicalizationMethod.CANONICAL_XML_1_0,
)
_UNSUPPORTED_WORDS = ("Unrecognized", "forbidden by configuration", "not supported", "External URI", "XPointer")


@dataclass(frozen=True, slots=True)
class SignatureCheck:
    """One signature's outcome, with its signer certificate where there is one."""

    status: str
    code: str = ""  # why, for people (invoices.signature_display): digest, signature, not_covering, …
    detail: str = ""  # the library's words, for support
    algorithm: str = ""
    subject: str = ""
    serial: str = ""
    not_before: datetime | None = None
    not_after: datetime | None = None
    tax_code: str = ""  # MST:<code> in the certificate subject
    tax_code_matches: bool | None = None  # seller signature: is it the seller's (or its parent's) tax code
    signing_time: datetime | None = None  # as signed; None: the issue date was used
    within_validity: bool | None = None
    chain: str = "not_checked"  # trusted / untrusted with a trust store

    def as_json(self) -> dict[str, Any]:
        def when(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "status": self.status,
            "code": self.code,
            "detail": self.detail[:300],
            "algorithm": self.algorithm,
            "subject": self.subject,
            "serial": self.serial,
            "not_before": when(self.not_before),
            "not_after": when(self.not_after),
            "tax_code": self.tax_code,
            "tax_code_matches": self.tax_code_matches,
            "signing_time": when(self.signing_time),
            "within_validity": self.within_validity,
            "chain": self.chain,
        }


def _local(el: Any) -> str:
    tag = el.tag
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _child(el: Any, name: str) -> Any:
    for child in el:
        if _local(child) == name:
            return child
    return None


def _ds(el: Any, *path: str) -> Any:
    for name in path:
        if el is None:
            return None
        el = el.find(f"{{{DS}}}{name}")
    return el


def _invoice(root: Any) -> Any:
    if _local(root) == "TDiep":
        dlieu = _child(root, "DLieu")
        return _child(dlieu, "HDon") if dlieu is not None else None
    return root if _local(root) == "HDon" else None


def _ids(root: Any) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        for name, value in el.attrib.items():
            if name.rpartition("}")[2] in ("Id", "ID"):
                found.setdefault(value, []).append(el)
    return found


def _covers(uris: list[str], ids: dict[str, list[Any]], target: Any) -> bool:
    """Whether a reference covers `target`: the whole document, the element or one of its ancestors."""
    if target is None:
        return False
    chain = {target, *target.iterancestors()}
    for uri in uris:
        if uri == "":
            return True
        if uri.startswith("#"):
            elements = ids.get(uri[1:], [])
            if len(elements) == 1 and elements[0] in chain:
                return True
    return False


def _tax_code(cert: x509.Certificate) -> str:
    for attribute in cert.subject:
        value = attribute.value if isinstance(attribute.value, str) else ""
        match = _MST_RE.search(value)
        if match:
            return match.group(1)
    return ""


def _signing_time(signature: Any, uris: list[str], ids: dict[str, list[Any]]) -> datetime | None:
    """The SigningTime the signature signs (inside an Object it references); None when it signs none."""
    for el in signature.iter():
        if _local(el) != "SigningTime" or not el.text:
            continue
        if not _covers(uris, ids, el):
            continue
        text = el.text.strip().replace("Z", "+00:00")
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return None
        return moment if moment.tzinfo else moment.replace(tzinfo=VIETNAM)
    return None


def _within(cert: x509.Certificate, signing_time: datetime | None, issue_date: date) -> bool:
    start, end = cert.not_valid_before_utc, cert.not_valid_after_utc
    if signing_time is not None:
        return start <= signing_time <= end
    day_start = datetime.combine(issue_date, time.min, tzinfo=VIETNAM)
    return day_start < end and start < day_start + timedelta(days=1)  # valid at some moment of the issue day


def _trusted(cert: x509.Certificate, others: list[x509.Certificate], store: Any, moment: datetime) -> bool:
    from cryptography.x509.verification import Criticality, ExtensionPolicy, PolicyBuilder, VerificationError

    # Signatures and names along the chain, and validity at signing time; not the web PKI's extension rules,
    # which national e-invoice CAs do not follow. A CA must still say it is one (basicConstraints).
    ca_policy = ExtensionPolicy.permit_all().require_present(x509.BasicConstraints, Criticality.AGNOSTIC, None)
    verifier = (
        PolicyBuilder()
        .store(store)
        .time(moment)
        .extension_policies(ee_policy=ExtensionPolicy.permit_all(), ca_policy=ca_policy)
        .build_client_verifier()
    )
    try:
        verifier.verify(cert, others)
    except VerificationError:
        return False
    return True


def _check(
    root: Any,
    signature: Any,
    *,
    must_cover: list[Any],
    seller_tax_code: str | None,
    issue_date: date,
    trust_store: Any,
) -> SignatureCheck:
    signature_value = _ds(signature, "SignatureValue")
    if _ds(signature, "SignedInfo", "SignatureMethod") is None or signature_value is None:
        return SignatureCheck(status=ABSENT, code="empty")
    method = _ds(signature, "SignedInfo", "SignatureMethod").get("Algorithm", "")
    algorithm = method.rpartition("#")[2] or method
    certs_text = [
        el.text or "" for el in signature.iterfind(f"{{{DS}}}KeyInfo/{{{DS}}}X509Data/{{{DS}}}X509Certificate")
    ]
    if not certs_text:
        return SignatureCheck(status=UNSUPPORTED, code="no_certificate", algorithm=algorithm)
    try:
        certs = [x509.load_der_x509_certificate(b64decode("".join(text.split()))) for text in certs_text]
    except ValueError as exc:
        return SignatureCheck(status=INVALID, code="certificate_unreadable", detail=str(exc), algorithm=algorithm)
    cert = certs[0]
    tax_code = _tax_code(cert)
    facts = SignatureCheck(
        status=INVALID,
        algorithm=algorithm,
        subject=cert.subject.rfc4514_string(),
        serial=format(cert.serial_number, "X"),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        tax_code=tax_code,
        tax_code_matches=(
            None
            if seller_tax_code is None
            else bool(tax_code) and (seller_tax_code == tax_code or seller_tax_code.startswith(tax_code + "-"))
        ),
    )
    location = "./" + "".join(f"{el.tag}/" for el in reversed(list(signature.iterancestors())) if el is not root)
    try:
        XMLVerifier().verify(
            root,
            x509_cert=cert,
            expect_config=replace(_CONFIG, location=location, verification_time=cert.not_valid_before_utc),
            validate_schema=False,  # vendors put unqualified SigningTime in SignatureProperty; we check coverage below
            parser=_VERIFY_PARSER,
        )
    except InvalidDigest as exc:
        return replace(facts, code="digest", detail=str(exc))
    except InvalidSignature as exc:
        return replace(facts, code="signature", detail=str(exc))
    except InvalidInput as exc:
        if any(word in str(exc) for word in _UNSUPPORTED_WORDS):
            return replace(facts, status=UNSUPPORTED, code="unsupported_form", detail=str(exc))
        return replace(facts, code="malformed", detail=str(exc))
    except (ValueError, TypeError, etree.LxmlError) as exc:
        return replace(facts, code="malformed", detail=str(exc))
    uris = [ref.get("URI") or "" for ref in signature.iterfind(f"{{{DS}}}SignedInfo/{{{DS}}}Reference")]
    ids = _ids(root)
    if not all(_covers(uris, ids, target) for target in must_cover):
        return replace(facts, code="not_covering")
    signing_time = _signing_time(signature, uris, ids)
    within = _within(cert, signing_time, issue_date)
    chain = "not_checked"
    if trust_store is not None:
        moment = signing_time or datetime.combine(issue_date, time(12), tzinfo=VIETNAM)
        chain = "trusted" if _trusted(cert, certs[1:], trust_store, moment.astimezone(UTC)) else "untrusted"
    facts = replace(facts, signing_time=signing_time, within_validity=within, chain=chain)
    if not within:
        return replace(facts, code="outside_validity")
    return replace(facts, status=VALID)


def verify_signatures(
    data: bytes,
    *,
    seller_tax_code: str,
    issue_date: date,
    trust_store: Any = None,
) -> dict[str, SignatureCheck]:
    """The seller's and the tax authority's signatures of one e-invoice that parsed (parse_invoice):
    `{"seller": SignatureCheck, "tax_authority": SignatureCheck}`. Never raises for bad input."""
    absent = {SELLER: SignatureCheck(status=ABSENT), TAX_AUTHORITY: SignatureCheck(status=ABSENT)}
    try:
        root = etree.fromstring(data.removeprefix(b"\xef\xbb\xbf"), parser=_VERIFY_PARSER)
    except (etree.LxmlError, ValueError):
        return absent
    hdon = _invoice(root)
    if hdon is None:
        return absent
    dlhdon, mccqt, dscks = _child(hdon, "DLHDon"), _child(hdon, "MCCQT"), _child(hdon, "DSCKS")
    result = dict(absent)
    if dscks is None:
        return result
    seller_code = "".join(seller_tax_code.split())
    for party, block_name in ((SELLER, "NBan"), (TAX_AUTHORITY, "CQT")):
        block = _child(dscks, block_name)
        signature = _ds(block, "Signature") if block is not None else None
        if signature is None:
            continue
        must_cover = [dlhdon] + ([mccqt] if party == TAX_AUTHORITY and mccqt is not None else [])
        result[party] = _check(
            root,
            signature,
            must_cover=must_cover,
            seller_tax_code=seller_code if party == SELLER else None,
            issue_date=issue_date,
            trust_store=trust_store,
        )
    return result


def signature_fields(checks: dict[str, SignatureCheck] | None) -> dict[str, Any]:
    """The invoice's authenticity columns (invoices.Invoice) from `verify_signatures`' result;
    None: not checked (`unchecked`)."""
    seller, authority = (checks or {}).get(SELLER), (checks or {}).get(TAX_AUTHORITY)
    return {
        "seller_signature": seller.status if seller else "unchecked",
        "tax_authority_signature": authority.status if authority else "unchecked",
        "signature_details": {party: check.as_json() for party, check in (checks or {}).items()},
        "seller_certificate_tax_code": seller.tax_code if seller else "",
        "seller_certificate_matches": seller.tax_code_matches if seller and seller.subject else None,
    }


def load_trust_store(path: str) -> Any:
    """A cryptography verification Store from a PEM bundle of trusted roots (INVOICE_SIGNATURE_TRUST_STORE)."""
    from cryptography.x509.verification import Store

    with open(path, "rb") as pems:
        return Store(x509.load_pem_x509_certificates(pems.read()))
