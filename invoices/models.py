"""Supplier e-invoices (docs/invoices.md): the header in `invoices`, line items in `invoice_services`.

Rows are written only by `invoices.services` (import, lifecycle). The database itself refuses
duplicates: the same bytes (`content_hash`), the same business invoice (seller tax code, form,
series, number as an integer) and the same tax-authority code (where present).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from acountee.money import DecimalSize
from acountee.search import SearchDocument


class InvoiceStatus(models.TextChoices):
    IMPORTED = "imported", _("imported")
    REDUNDANT = "redundant", _("obsolete")
    COMPLETED = "completed", _("completed")


# Explicit lifecycle table (docs/invoices.md): imported ⇄ redundant (mark obsolete / restore);
# imported ⇄ completed (its PR is completed / un-completed).
INVOICE_TRANSITIONS: dict[str, frozenset[str]] = {
    InvoiceStatus.IMPORTED: frozenset({InvoiceStatus.REDUNDANT, InvoiceStatus.COMPLETED}),
    InvoiceStatus.REDUNDANT: frozenset({InvoiceStatus.IMPORTED}),
    InvoiceStatus.COMPLETED: frozenset({InvoiceStatus.IMPORTED}),
}


class RelatedKind(models.IntegerChoices):
    """`TTHDLQuan/TCHDon`: what this invoice does to the original it names."""

    REPLACEMENT = 1, _("replacement")
    ADJUSTMENT = 2, _("adjustment")


class RelatedMatch(models.TextChoices):
    """How the original a correction names was found (docs/invoices.md, "Corrections"): by seller tax
    code and number, plus date, form and series where the correction gives them."""

    LINKED = "linked", _("linked to its original")
    NOT_FOUND = "not_found", _("original not imported yet")
    AMBIGUOUS = "ambiguous", _("several invoices match the original")


class SignatureStatus(models.TextChoices):
    """One XML signature's outcome (invoices.signatures); `unchecked` only for invoices imported
    before verification existed, or with INVOICE_VERIFY_SIGNATURES off."""

    VALID = "valid", _("valid")
    INVALID = "invalid", _("invalid")
    ABSENT = "absent", _("absent")
    UNSUPPORTED = "unsupported", _("unsupported")
    UNCHECKED = "unchecked", _("not checked")


class LineNature(models.IntegerChoices):
    """`HHDVu/TChat`."""

    GOODS = 1, _("goods or service")
    PROMOTION = 2, _("promotion")
    DISCOUNT = 3, _("trade discount")
    NOTE = 4, _("note")
    SPECIAL = 5, _("special")


class PaymentType(models.TextChoices):
    BANK_TRANSFER = "bank_transfer", _("bank transfer")
    CASH = "cash", _("cash")
    OTHER = "other", _("other")


# What people type to find an invoice (docs/search.md): folded into `search_document`.
INVOICE_SEARCH_FIELDS = ("seller_name", "seller_tax_code", "series", "number", "tax_authority_code")

MONEY: DecimalSize = {"max_digits": 20, "decimal_places": 2}
PRECISE: DecimalSize = {"max_digits": 24, "decimal_places": 6}


class Invoice(models.Model):
    """One supplier e-invoice as the seller issued it, plus what finance needs to pay it.

    Why a row per invoice with its own status: finance bundles invoices into payment requests,
    and an invoice must be paid once (one PR at most, never a duplicate import, obsolete when the
    seller replaced it).
    """

    # --- TTChung: general information
    schema_version = models.CharField(_("schema version"), max_length=10, blank=True)
    title = models.CharField(_("title"), max_length=200, blank=True)
    template_code = models.CharField(_("template code"), max_length=20, help_text=_("KHMSHDon"))
    series = models.CharField(_("series"), max_length=20, help_text=_("KHHDon"))
    number = models.CharField(_("number"), max_length=20, help_text=_("SHDon as written"))
    number_int = models.BigIntegerField(_("number (integer)"))
    issue_date = models.DateField(_("issue date"))
    currency = models.CharField(_("currency"), max_length=3, default="VND")
    currency_as_written = models.CharField(
        _("currency (as written)"), max_length=20, blank=True, help_text=_("DVTTe as the file writes it")
    )
    exchange_rate = models.DecimalField(_("exchange rate"), max_digits=18, decimal_places=6, default=1)
    payment_method_text = models.CharField(_("payment method (as written)"), max_length=100, blank=True)
    issuer_tax_code = models.CharField(_("e-invoice provider tax code"), max_length=20, blank=True)
    tax_authority_code = models.CharField(_("tax-authority code"), max_length=64, blank=True, help_text=_("MCCQT"))

    # --- related invoice (TTHDLQuan)
    related_kind = models.PositiveSmallIntegerField(
        _("related invoice kind"), choices=RelatedKind.choices, null=True, blank=True
    )
    related_template_code = models.CharField(_("original template code"), max_length=20, blank=True)
    related_series = models.CharField(_("original series"), max_length=20, blank=True)
    related_number = models.CharField(_("original number"), max_length=20, blank=True)
    related_number_int = models.BigIntegerField(_("original number (integer)"), null=True, blank=True)
    related_issue_date = models.DateField(_("original issue date"), null=True, blank=True)
    related_note = models.CharField(_("related invoice note"), max_length=500, blank=True)
    related_from_line_text = models.BooleanField(
        _("original named in a line's text"),
        default=False,
        help_text=_("The file has no related-invoice block: the original was read from a line's text."),
    )
    related_match = models.CharField(_("original lookup"), max_length=16, choices=RelatedMatch.choices, blank=True)
    original = models.ForeignKey(
        "self",
        verbose_name=_("original invoice"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="corrections",
    )

    # --- seller (NBan) and buyer (NMua)
    seller_name = models.CharField(_("seller name"), max_length=400)
    seller_tax_code = models.CharField(_("seller tax code"), max_length=20)
    seller_address = models.CharField(_("seller address"), max_length=400, blank=True)
    seller_bank_account = models.CharField(_("seller bank account"), max_length=50, blank=True)
    seller_bank_name = models.CharField(_("seller bank name"), max_length=400, blank=True)
    seller_phone = models.CharField(_("seller phone"), max_length=50, blank=True)
    seller_email = models.CharField(_("seller e-mail"), max_length=254, blank=True)
    buyer_name = models.CharField(_("buyer name"), max_length=400, blank=True)
    buyer_tax_code = models.CharField(_("buyer tax code"), max_length=20, blank=True)
    buyer_address = models.CharField(_("buyer address"), max_length=400, blank=True)

    # --- totals (TToan)
    total_before_tax = models.DecimalField(_("total before tax"), **MONEY)
    total_tax = models.DecimalField(_("total tax"), **MONEY)
    trade_discount = models.DecimalField(_("trade discount"), default=0, **MONEY)
    other_fees = models.DecimalField(_("other fees"), default=0, **MONEY)
    total_payable = models.DecimalField(_("amount payable"), **MONEY)
    total_in_words = models.CharField(_("total in words"), max_length=500, blank=True)
    rate_summaries = models.JSONField(_("per-rate summary"), default=list, blank=True)
    extras = models.JSONField(_("other information (TTKhac)"), default=dict, blank=True)
    # Where the lines, the per-rate summary and the header disagree (invoices.consistency): a list of
    # {code, rate, expected, found, difference}, empty when all agree. The amount payable stays TgTTTBSo.
    consistency_findings = models.JSONField(_("consistency findings"), default=list, blank=True)

    # --- ours
    status = models.CharField(_("status"), max_length=16, choices=InvoiceStatus.choices, default=InvoiceStatus.IMPORTED)
    content_hash = models.CharField(_("content hash (SHA-256)"), max_length=64)
    source_file = models.ForeignKey(
        "files.StoredFile", verbose_name=_("source file"), on_delete=models.PROTECT, related_name="+"
    )
    buyer_tax_code_mismatch = models.BooleanField(
        _("buyer tax code differs from ours"),
        default=False,
        help_text=_("The buyer tax code is not COMPANY_TAX_CODE: check that this invoice is really ours."),
    )
    superseded_while_linked = models.BooleanField(
        _("replaced while in a payment request"),
        default=False,
        help_text=_("The seller issued a replacement while this invoice was already in a payment request."),
    )
    # --- authenticity (docs/invoices.md, "Signatures"): checked at import from the source file
    seller_signature = models.CharField(
        _("seller signature"), max_length=12, choices=SignatureStatus.choices, default=SignatureStatus.UNCHECKED
    )
    tax_authority_signature = models.CharField(
        _("tax-authority signature"), max_length=12, choices=SignatureStatus.choices, default=SignatureStatus.UNCHECKED
    )
    signature_details = models.JSONField(
        _("signature details"),
        default=dict,
        blank=True,
        help_text=_("Per signature: outcome, reason, certificate subject, serial, validity, tax code, signing time."),
    )
    seller_certificate_tax_code = models.CharField(_("signer certificate tax code"), max_length=20, blank=True)
    seller_certificate_matches = models.BooleanField(
        _("signer is the seller"),
        null=True,
        blank=True,
        help_text=_(
            "Whether the tax code in the seller signature's certificate is the seller's (empty: no certificate)."
        ),
    )
    # An owner's decision that an invoice failing the signature check may be paid all the same (audited).
    signature_override_reason = models.TextField(_("signature override reason"), blank=True)
    signature_override_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("signature override by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    signature_override_at = models.DateTimeField(_("signature override at"), null=True, blank=True)

    payment_type = models.CharField(_("payment type"), max_length=20, choices=PaymentType.choices, blank=True)
    payment_bank_name = models.CharField(_("payment bank name"), max_length=400, blank=True)
    payment_bank_account = models.CharField(_("payment bank account"), max_length=50, blank=True)
    payment_account_name = models.CharField(_("payment account name"), max_length=400, blank=True)
    # Everyone who changed the payment details by hand, in the order they first did (NULL: nobody,
    # as the seller wrote them — the importer's rows leave it out). Whoever changed where an invoice
    # is paid becomes a preparer of the request that pays it (docs/controls.md); users are
    # deactivated, never deleted, so the ids stay meaningful.
    payment_details_changed_by = ArrayField(
        models.BigIntegerField(),
        verbose_name=_("payment details changed by"),
        null=True,
        blank=True,
    )
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("imported by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    # Stored so a search checks plain text instead of folding each candidate row per term;
    # kept out of the audit log (derived data).
    search_document = models.GeneratedField(
        expression=SearchDocument(*INVOICE_SEARCH_FIELDS),
        output_field=models.TextField(),
        db_persist=True,
        verbose_name=_("search text"),
    )

    class Meta:
        db_table = "invoices"
        ordering = ["-issue_date", "-id"]
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        constraints = [
            # Constraints rather than unique=True: no extra LIKE index to maintain on import.
            models.UniqueConstraint(fields=["content_hash"], name="invoices_content_hash_unique"),
            models.UniqueConstraint(
                fields=["seller_tax_code", "template_code", "series", "number_int"], name="invoices_business_key_unique"
            ),
            models.UniqueConstraint(
                fields=["tax_authority_code"], condition=~Q(tax_authority_code=""), name="invoices_mccqt_unique"
            ),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in InvoiceStatus]), name="invoices_status_valid"
            ),
            models.CheckConstraint(condition=Q(number_int__gte=0), name="invoices_number_int_nonnegative"),
            models.CheckConstraint(condition=Q(exchange_rate__gt=0), name="invoices_exchange_rate_positive"),
        ]
        indexes = [
            models.Index(fields=["issue_date", "id"], name="invoices_issue_date_idx"),
            # `?updated_since=` and cursor paging in the sync order (docs/API.md, Syncing a list).
            models.Index(fields=["updated_at", "id"], name="invoices_updated_at_id_idx"),
            models.Index(fields=["status", "issue_date"], name="invoices_status_date_idx"),
            models.Index(
                fields=["seller_tax_code", "related_template_code", "related_series", "related_number_int"],
                condition=Q(related_kind__isnull=False),
                name="invoices_related_key_idx",
            ),
            GinIndex(fields=["search_document"], opclasses=["gin_trgm_ops"], name="invoices_search_document_trgm"),
        ]

    def __str__(self) -> str:
        return f"{self.series}-{self.number} ({self.seller_name})"


class InvoiceService(models.Model):
    """One line item (`HHDVu`) of an invoice, with its VAT resolved (docs/invoices.md: the line's
    TTKhac, else the per-rate summary, else computed), so reports never re-derive it."""

    # No separate index: the unique (invoice, position) index serves every lookup by invoice.
    invoice = models.ForeignKey(
        Invoice, verbose_name=_("invoice"), on_delete=models.CASCADE, related_name="services", db_index=False
    )
    position = models.PositiveIntegerField(_("position"), help_text=_("Order in the file"))
    nature = models.PositiveSmallIntegerField(_("nature"), choices=LineNature.choices, null=True, blank=True)
    line_number = models.IntegerField(_("line number"), null=True, blank=True, help_text=_("STT as written"))
    code = models.CharField(_("code"), max_length=100, blank=True)
    name = models.TextField(_("name"), blank=True)
    unit = models.CharField(_("unit"), max_length=50, blank=True)
    quantity = models.DecimalField(_("quantity"), null=True, blank=True, **PRECISE)
    unit_price = models.DecimalField(_("unit price"), null=True, blank=True, **PRECISE)
    discount_rate = models.DecimalField(_("discount rate"), null=True, blank=True, **PRECISE)
    discount_amount = models.DecimalField(_("discount amount"), null=True, blank=True, **MONEY)
    amount = models.DecimalField(_("amount before tax"), **MONEY)
    tax_rate_text = models.CharField(_("tax rate (as written)"), max_length=20, blank=True)
    tax_rate = models.DecimalField(_("tax rate (%)"), max_digits=9, decimal_places=4, null=True, blank=True)
    tax_amount = models.DecimalField(_("tax amount"), **MONEY)
    tax_amount_source = models.CharField(_("tax amount source"), max_length=10, blank=True)
    extras = models.JSONField(_("other information (TTKhac)"), default=dict, blank=True)

    class Meta:
        db_table = "invoice_services"
        ordering = ["invoice_id", "position"]
        verbose_name = _("invoice line")
        verbose_name_plural = _("invoice lines")
        constraints = [
            models.UniqueConstraint(fields=["invoice", "position"], name="invoice_services_position_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.name[:60]}"
