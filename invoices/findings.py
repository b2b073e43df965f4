"""Consistency findings in words (the facts themselves: invoices.consistency; stored on
`Invoice.consistency_findings`). Said in the reader's language wherever they are shown: the invoice
page and list, the API and the import result."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext_lazy as _

from acountee.money import format_money
from invoices import consistency

LABELS: dict[str, Any] = {
    consistency.LINES_BEFORE_TAX: _("Lines' amounts before VAT against the header's total before VAT (TgTCThue)"),
    consistency.LINES_TAX: _("Lines' VAT against the header's total VAT (TgTThue)"),
    consistency.SUMMARY_BEFORE_TAX: _("Per-rate summary amounts against the header's total before VAT (TgTCThue)"),
    consistency.SUMMARY_TAX: _("Per-rate summary VAT against the header's total VAT (TgTThue)"),
    consistency.RATE_BEFORE_TAX: _("Lines' amounts at %(rate)s against the per-rate summary"),
    consistency.RATE_TAX: _("Lines' VAT at %(rate)s against the per-rate summary"),
    consistency.PAYABLE: _("Amount payable (TgTTTBSo) against total before VAT + VAT + fees - trade discount"),
}


def _amount(value: Any) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return Decimal("0")


def finding_text(finding: Mapping[str, Any], currency: str = "VND") -> str:
    """One finding as a sentence: what disagrees, the two figures and by how much."""
    label = LABELS.get(str(finding.get("code")), finding.get("code", ""))
    what = str(label) % {"rate": finding.get("rate") or "—"}
    return str(_("%(what)s: %(found)s instead of %(expected)s (difference %(difference)s).")) % {
        "what": what,
        "found": format_money(_amount(finding.get("found")), currency),
        "expected": format_money(_amount(finding.get("expected")), currency),
        "difference": format_money(_amount(finding.get("difference")), currency),
    }


def findings_texts(findings: list[Mapping[str, Any]] | None, currency: str = "VND") -> list[str]:
    return [finding_text(finding, currency) for finding in findings or []]
