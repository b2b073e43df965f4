"""Signature outcomes in words (the checks themselves: invoices.signatures), in the reader's language."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

REASONS: dict[str, Any] = {
    "": "",
    "empty": _("the signature element is empty"),
    "no_certificate": _("no certificate in KeyInfo"),
    "certificate_unreadable": _("the certificate cannot be read"),
    "digest": _("the signed data was changed after signing"),
    "signature": _("the signature does not match its certificate"),
    "not_covering": _("the signature does not cover the invoice data"),
    "malformed": _("the signature is malformed"),
    "unsupported_form": _("an algorithm or reference form that is not supported"),
    "outside_validity": _("the certificate was not valid when it signed"),
}

CHAIN: dict[str, Any] = {
    "not_checked": _(
        "Certificate chain trust is not checked: no trust store is configured (INVOICE_SIGNATURE_TRUST_STORE)."
        " A valid signature proves the file is unchanged since it was signed with this certificate, not who"
        " issued the certificate."
    ),
    "trusted": _("The certificate chains to the configured trust store."),
    "untrusted": _("The certificate does not chain to the configured trust store."),
}


def reason_text(code: str) -> str:
    return str(REASONS.get(code, code))


def chain_text(code: str) -> str:
    return str(CHAIN.get(code, code))
