"""Reads of invoices: the querysets with their joins, so lists run a fixed number of queries."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext as _

from acountee.errors import InvalidState, NotFoundError, ValidationFailed
from invoices.models import INVOICE_SEARCH_FIELDS as INVOICE_SEARCH_FIELDS  # the admin's search reads it here
from invoices.models import Invoice, InvoiceService, InvoiceStatus, SignatureStatus


def _pr_link_available() -> bool:
    return any(f.name == "pr_link" for f in Invoice._meta.get_fields())


def invoice_base_queryset() -> QuerySet[Invoice]:
    qs = Invoice.objects.select_related("source_file", "original")
    if _pr_link_available():
        qs = qs.select_related("pr_link")
    return qs


def invoice_list_queryset() -> QuerySet[Invoice]:
    """The invoice list before its filters (invoices.filters.InvoiceFilter): newest first."""
    return invoice_base_queryset().order_by("-issue_date", "-id")


def invoice_list(*, filters: Mapping[str, Any] | None = None) -> QuerySet[Invoice]:
    """The list filtered as the API filters it (invoices.filters.InvoiceFilter); a bad filter is a
    ValidationFailed naming every bad parameter."""
    from invoices.filters import InvoiceFilter  # it reads the link check below

    filterset = InvoiceFilter(data=filters or {}, queryset=invoice_list_queryset())
    if not filterset.is_valid():
        errors = filterset.errors
        raise ValidationFailed(details={name: [e["message"] for e in errors[name].get_json_data()] for name in errors})
    filtered: QuerySet[Invoice] = filterset.qs
    return filtered


def invoice_detail_queryset() -> QuerySet[Invoice]:
    return invoice_base_queryset().prefetch_related(
        Prefetch("services", queryset=InvoiceService.objects.order_by("position"))
    )


def invoice_page_queryset() -> QuerySet[Invoice]:
    """The invoice page (admin change view): the row with its source file, original, PR link and the people it
    names, then its lines and the invoices that correct it — three queries whatever it holds."""
    corrections = Invoice.objects.only(
        "id", "original_id", "related_kind", "template_code", "series", "number", "issue_date"
    ).order_by("issue_date", "id")
    return (
        invoice_base_queryset()
        .select_related("imported_by", "signature_override_by")
        .prefetch_related(
            Prefetch("services", queryset=InvoiceService.objects.order_by("position")),
            Prefetch("corrections", queryset=corrections),
        )
    )


@dataclass(frozen=True, slots=True)
class ObsoletePreview:
    """What "mark obsolete" would do to the selected invoices, for the confirmation page."""

    will: list[Invoice]  # imported and in no payment request: they become obsolete
    in_request: list[tuple[Invoice, int]]  # (invoice, its payment request's id): remove them from it first
    completed: list[Invoice]  # paid: they stay
    already: list[Invoice]  # obsolete already

    @property
    def refused(self) -> int:
        return len(self.in_request) + len(self.completed) + len(self.already)


def invoices_obsolete_preview(*, ids: list[int]) -> ObsoletePreview:
    """The selected invoices sorted by what marking them obsolete would do, by the rules of
    `invoices.services.invoice_mark_obsolete` (which decides again, under lock, when it is confirmed). One query."""
    will: list[Invoice] = []
    in_request: list[tuple[Invoice, int]] = []
    completed: list[Invoice] = []
    already: list[Invoice] = []
    for invoice in invoice_base_queryset().filter(pk__in=ids).order_by("issue_date", "id"):
        pr_id = invoice_pr_id(invoice)
        if invoice.status == InvoiceStatus.REDUNDANT:
            already.append(invoice)
        elif invoice.status == InvoiceStatus.COMPLETED:
            completed.append(invoice)
        elif pr_id is not None:
            in_request.append((invoice, pr_id))
        else:
            will.append(invoice)
    return ObsoletePreview(will=will, in_request=in_request, completed=completed, already=already)


def invoice_get(*, invoice_id: int) -> Invoice:
    try:
        return invoice_detail_queryset().get(pk=invoice_id)
    except (Invoice.DoesNotExist, ValueError, TypeError):
        raise NotFoundError(_("Invoice not found."), code="INVOICE_NOT_FOUND") from None


def invoice_pr_id(invoice: Invoice) -> int | None:
    """The PR the invoice is linked to, or None (works before the payments app exists)."""
    if not _pr_link_available():
        return None
    try:
        link = invoice.pr_link
    except Exception:  # RelatedObjectDoesNotExist
        return None
    return getattr(link, "pr_id", None)


# --- may it be paid? (docs/invoices.md, "Signatures") ---------------------------------------------

SIGNATURE_INVALID = "INVOICE_SIGNATURE_INVALID"
SIGNER_NOT_SELLER = "INVOICE_SIGNER_NOT_SELLER"


@dataclass(frozen=True, slots=True)
class PaymentEligibility:
    """Whether an invoice may be put in a payment request, as far as its authenticity goes."""

    allowed: bool
    code: str = ""  # INVOICE_SIGNATURE_INVALID / INVOICE_SIGNER_NOT_SELLER when refused
    message: str = ""
    overridden: bool = False  # allowed only because an owner overrode the refusal
    reason: str = ""  # what is wrong with the invoice, without what it stops (the message adds that)

    def raise_if_refused(self, invoice: Invoice) -> None:
        """For the payments app's link service: a refusal as the InvalidState (409) every entry point renders."""
        if not self.allowed:
            raise InvalidState(self.message, code=self.code, details={"id": invoice.pk})


def invoice_payment_eligibility(*, invoice: Invoice) -> PaymentEligibility:
    """The one answer to "may this invoice be put in a payment request?" on authenticity grounds.

    Refused when the seller's or the tax authority's signature is invalid, or when the seller's signature
    was made with a certificate whose tax code is not the seller's — unless an owner overrode it with a
    reason (`invoices.services.invoice_signature_override`, audited). Absent, unsupported and unchecked
    signatures do not refuse (they are shown). Reads only the invoice row: no query."""
    problem = ""
    code = ""
    if SignatureStatus.INVALID in (invoice.seller_signature, invoice.tax_authority_signature):
        code = SIGNATURE_INVALID
        problem = _(
            "Invoice %(number)s fails the signature check (the file was changed after signing, or is not signed"
            " by the certificate it carries)."
        ) % {"number": invoice.number}
    elif invoice.seller_certificate_matches is False:
        code = SIGNER_NOT_SELLER
        problem = _(
            "Invoice %(number)s is signed with a certificate of tax code %(signer)s, not the seller's %(seller)s."
        ) % {
            "number": invoice.number,
            "signer": invoice.seller_certificate_tax_code or "—",
            "seller": invoice.seller_tax_code,
        }
    if not code:
        return PaymentEligibility(allowed=True)
    if invoice.signature_override_at is not None:
        return PaymentEligibility(allowed=True, code=code, message=problem, overridden=True, reason=str(problem))
    return PaymentEligibility(
        allowed=False,
        code=code,
        message=str(problem) + " " + str(_("It cannot be put in a payment request without an owner's override.")),
        reason=str(problem),
    )
