"""Signed synthetic e-invoices for tests and the benchmark: a throwaway CA and keys made on the spot with
the `cryptography` package, XML-DSig signatures made with signxml the way vendors lay them out
(`DSCKS/NBan/Signature` over `#<DLHDon Id>` with a signed SigningTime; the tax authority's in `DSCKS/CQT`
over the data and `MCCQT`). Nothing here is a real certificate or ever trusted by the product.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml import XMLSigner
from signxml.algorithms import CanonicalizationMethod, SignatureConstructionMethod

DS = "http://www.w3.org/2000/09/xmldsig#"
UID = x509.ObjectIdentifier("0.9.2342.19200300.100.1.1")


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class Signer:
    """A key and its certificate (subject `CN=<name>, UID=MST:<tax code>`)."""

    key: rsa.RSAPrivateKey
    cert: x509.Certificate
    chain: list[x509.Certificate] = field(default_factory=list)

    @property
    def pem_chain(self) -> list[str]:
        return [c.public_bytes(serialization.Encoding.PEM).decode() for c in (self.cert, *self.chain)]


@dataclass
class ThrowawayCA:
    key: rsa.RSAPrivateKey
    cert: x509.Certificate

    @classmethod
    def create(cls, name: str = "Acountee Test CA") -> ThrowawayCA:
        key = _key()
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = datetime.now(UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=3650))
            .not_valid_after(now + timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256())
        )
        return cls(key=key, cert=cert)

    @property
    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def issue(
        self,
        *,
        tax_code: str,
        name: str = "CÔNG TY TNHH KIỂM THỬ",
        not_before: datetime | None = None,
        not_after: datetime | None = None,
        key: rsa.RSAPrivateKey | None = None,
    ) -> Signer:
        key = key or _key()
        now = datetime.now(UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(
                x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name), x509.NameAttribute(UID, f"MST:{tax_code}")])
            )
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before or now - timedelta(days=3000))
            .not_valid_after(not_after or now + timedelta(days=3000))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=True,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        return Signer(key=key, cert=cert)


class _LegacySigner(XMLSigner):
    """Signs with SHA-1 too, as older vendors still do (signxml refuses by default)."""

    def check_deprecated_methods(self) -> None:
        return None


def _signing_time(moment: datetime) -> etree._Element:
    el = etree.Element("SigningTime")
    el.text = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return el


def sign_invoice(
    content: bytes,
    signer: Signer,
    *,
    party: str = "NBan",
    signing_time: datetime | None = None,
    references: list[str] | None = None,
    algorithm: str = "rsa-sha256",
    digest: str = "sha256",
) -> bytes:
    """The invoice with `signer`'s signature in `DSCKS/<party>` (NBan: the seller; CQT: the tax authority,
    over the data and MCCQT; without a signing time, so the issue date stands for it). `references` overrides
    what is signed (ids, `#` included)."""
    root = etree.fromstring(content)
    hdon = root
    data_id = hdon.find("DLHDon").get("Id")
    if references is None:
        references = [f"#{data_id}"]
        mccqt = hdon.find("MCCQT")
        if party == "CQT" and mccqt is not None:
            references.append(f"#{mccqt.get('Id')}")
    signer_class = _LegacySigner if "sha1" in (algorithm + digest) else XMLSigner
    signature = signer_class(
        method=SignatureConstructionMethod.detached,
        signature_algorithm=algorithm,
        digest_algorithm=digest,
        c14n_algorithm=CanonicalizationMethod.CANONICAL_XML_1_0,
    ).sign(
        root,
        key=signer.key,
        cert=signer.pem_chain,
        reference_uri=references,
        # signxml names the properties' Object "prop": only one signature per file may carry one.
        signature_properties=[_signing_time(signing_time or datetime.now(UTC))] if party == "NBan" else None,
    )
    dscks = hdon.find("DSCKS")
    if dscks is None:
        dscks = etree.SubElement(hdon, "DSCKS")
    block = dscks.find(party)
    if block is None:
        block = etree.SubElement(dscks, party)
    for old in block.findall(f"{{{DS}}}Signature"):
        block.remove(old)
    block.append(signature)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
