"""Reads of the payments app: the payment-method registry and the bank details a PR pays to."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet

from payments.models import PR_SEARCH_FIELDS as PR_SEARCH_FIELDS  # re-exported: the API and admin read it here
from payments.models import PaymentMethod, PaymentRequest, PaymentRequestType

# What people type to find a payment method (a short list: folded on the fly, no index).
PAYMENT_METHOD_SEARCH_FIELDS = ("name", "bank_name", "bank_account", "account_name")


def payment_method_list() -> QuerySet[PaymentMethod]:
    return PaymentMethod.objects.order_by("name", "id")


@dataclass
class BankDetails:
    """Where a PR's money goes. `source` is `pr` (advanced) or `invoices` (direct).
    `conflict`: the linked invoices name different accounts; `missing`: nothing to pay to."""

    bank_name: str = ""
    bank_account: str = ""
    account_name: str = ""
    source: str = "pr"
    conflict: bool = False
    missing: bool = False
    candidates: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "bank_name": self.bank_name, "bank_account": self.bank_account, "account_name": self.account_name,
            "source": self.source, "conflict": self.conflict, "missing": self.missing,
            "candidates": self.candidates,
        }


def _invoice_accounts(pr: PaymentRequest) -> list[dict[str, str]]:
    seen: dict[tuple[str, str, str], dict[str, str]] = {}
    for link in pr.invoice_links.all():  # prefetched by the detail selector
        inv = link.invoice
        key = (
            (inv.payment_bank_name or "").strip(),
            (inv.payment_bank_account or "").replace(" ", "").strip(),
            (inv.payment_account_name or "").strip(),
        )
        if any(key):
            seen.setdefault(key, {"bank_name": key[0], "bank_account": key[1], "account_name": key[2]})
    return list(seen.values())


def payment_request_bank_details(pr: PaymentRequest) -> BankDetails:
    """Advanced PRs carry their own details; direct PRs pay the account their invoices name.
    Invoices naming different accounts (or none) are flagged, never silently resolved."""
    if pr.type == PaymentRequestType.ADVANCED:
        return BankDetails(bank_name=pr.bank_name, bank_account=pr.bank_account, account_name=pr.account_name,
                           source="pr", missing=not (pr.bank_account and pr.account_name))
    accounts = _invoice_accounts(pr)
    if not accounts:
        return BankDetails(source="invoices", missing=True)
    first = accounts[0]
    by_account = {a["bank_account"] for a in accounts}
    return BankDetails(
        bank_name=first["bank_name"], bank_account=first["bank_account"], account_name=first["account_name"],
        source="invoices", conflict=len(by_account) > 1, missing=not first["bank_account"],
        candidates=accounts if len(accounts) > 1 else [],
    )
