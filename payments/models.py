"""Payment requests, their attachments and invoice links, and the bank-account registry
(docs/payments.md).

The approval chain of a PR lives in the `approvals` app (which depends on this one, never
the reverse): this module knows nothing about steps or approvers.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from acountee.search import SearchDocument

# What people type to find a PR (docs/search.md): its name, the supplier account it pays, the
# bank's reference; folded into `search_document`.
PR_SEARCH_FIELDS = ("name", "account_name", "payment_reference")


class PaymentMethod(models.Model):
    """A bank account the company pays to or from, kept once so that invoice payment details
    and advanced PRs can be prefilled instead of retyped (typos in account numbers cost money)."""

    name = models.CharField(_("name"), max_length=200)
    bank_name = models.CharField(_("bank name"), max_length=200, blank=True)
    bank_account = models.CharField(_("bank account"), max_length=64, blank=True)
    account_name = models.CharField(_("account holder name"), max_length=200, blank=True)
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        db_table = "payment_methods"
        ordering = ["name", "id"]
        verbose_name = _("payment method")
        verbose_name_plural = _("payment methods")
        constraints = [models.CheckConstraint(condition=~Q(name=""), name="payment_methods_name_not_empty")]

    def __str__(self) -> str:
        return self.name


class PaymentRequestType(models.TextChoices):
    DIRECT = "direct", _("Direct (bank details from the invoices)")
    ADVANCED = "advanced", _("Advanced (bank details on the request)")


class PaymentRequestStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PENDING = "pending", _("Pending approval")
    APPROVED = "approved", _("Approved")
    COMPLETED = "completed", _("Completed")


S = PaymentRequestStatus
# The whole state machine, as a table for the docs and the lifecycle tests (the services check
# each transition's source state themselves); `delete` is allowed from draft only and is not a state.
PR_TRANSITIONS: dict[str, dict[str, str]] = {
    "request_approval": {S.DRAFT: S.PENDING},
    # approve keeps pending while steps remain; the last step moves pending → approved.
    "approve": {S.PENDING: S.APPROVED},
    # retract on an approved PR (last step's approval withdrawn) goes back to pending.
    "retract": {S.APPROVED: S.PENDING, S.PENDING: S.PENDING},
    "reject": {S.PENDING: S.DRAFT},
    "recall": {S.PENDING: S.DRAFT},
    "complete": {S.APPROVED: S.COMPLETED},
    "uncomplete": {S.COMPLETED: S.APPROVED},
}


class PaymentRequest(models.Model):
    """A request to pay money out, routed through an approval chain before finance pays it.

    `direct` PRs pay suppliers exactly as their linked invoices say (bank details resolve from
    the invoices); `advanced` PRs (advances, refunds, anything without an invoice yet) carry
    their own bank details. Status changes only through the services, under a row lock."""

    name = models.CharField(_("name"), max_length=255)
    type = models.CharField(
        _("type"), max_length=16, choices=PaymentRequestType.choices, default=PaymentRequestType.DIRECT
    )
    amount = models.DecimalField(
        _("amount"), max_digits=18, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )
    currency = models.CharField(_("currency"), max_length=3, default="VND")
    note = models.TextField(_("note"), blank=True)
    maker = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("maker"), on_delete=models.PROTECT, related_name="payment_requests"
    )
    # The request's approval chain, in the approval engine (which knows nothing of requests). Null
    # only for a row written outside the services, which gets an empty chain at its first transition.
    approval = models.OneToOneField(
        "approvals.Approval",
        verbose_name=_("approval chain"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="pr",
    )
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=PaymentRequestStatus.choices,
        default=PaymentRequestStatus.DRAFT,
        db_index=True,
    )
    bank_name = models.CharField(_("bank name"), max_length=200, blank=True)
    bank_account = models.CharField(_("bank account"), max_length=64, blank=True)
    account_name = models.CharField(_("account holder name"), max_length=200, blank=True)
    payment_reference = models.CharField(_("payment reference"), max_length=128, blank=True)
    # The payee as it stood when approval was requested (docs/controls.md, PAYEE-FROZEN): what the
    # approvers approve and what the bank export pays. Empty while the request is a draft.
    payee_bank_name = models.CharField(_("payee bank"), max_length=200, blank=True)
    payee_bank_account = models.CharField(_("payee bank account"), max_length=64, blank=True)
    payee_account_name = models.CharField(_("payee account holder"), max_length=200, blank=True)
    payee_tax_code = models.CharField(_("payee tax code"), max_length=32, blank=True)
    # NEW-PAYEE-FLAGGED: this account was never paid before for this supplier; and the account
    # the supplier was last paid to, when it differs (shown old → new to every approver).
    payee_is_new = models.BooleanField(_("new payee account"), default=False)
    previous_bank_name = models.CharField(_("previously paid bank"), max_length=200, blank=True)
    previous_bank_account = models.CharField(_("previously paid bank account"), max_length=64, blank=True)
    previous_account_name = models.CharField(_("previously paid account holder"), max_length=200, blank=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    # The rejection the draft answers to (approvals.services.payment_request_reject sets it, a new
    # approval request clears it); the audit log keeps every rejection.
    rejection_reason = models.TextField(_("rejection reason"), blank=True, default="", db_default="")
    rejected_at = models.DateTimeField(_("rejected at"), null=True, blank=True)
    rejected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("rejected by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    # Stored and indexed like invoices.search_document; kept out of the audit log (derived).
    search_document = models.GeneratedField(
        expression=SearchDocument(*PR_SEARCH_FIELDS),
        output_field=models.TextField(),
        db_persist=True,
        verbose_name=_("search text"),
    )

    class Meta:
        db_table = "pr"
        ordering = ["-id"]
        verbose_name = _("payment request")
        verbose_name_plural = _("payment requests")
        permissions = [
            ("complete_paymentrequest", _("Can complete payment requests")),
            ("uncomplete_paymentrequest", _("Can un-complete payment requests (reverse a recorded payment)")),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="pr_amount_not_negative"),
            models.CheckConstraint(condition=~Q(name=""), name="pr_name_not_empty"),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in PaymentRequestStatus]), name="pr_status_valid"
            ),
            models.CheckConstraint(condition=Q(type__in=[t.value for t in PaymentRequestType]), name="pr_type_valid"),
            # A request out of draft always carries its frozen payee (PAYEE-FROZEN).
            models.CheckConstraint(
                condition=Q(status=PaymentRequestStatus.DRAFT) | ~Q(payee_bank_account=""),
                name="pr_payee_frozen_out_of_draft",
            ),
            # completed_at is set exactly when the PR is completed.
            models.CheckConstraint(
                condition=Q(status=PaymentRequestStatus.COMPLETED, completed_at__isnull=False)
                | (~Q(status=PaymentRequestStatus.COMPLETED) & Q(completed_at__isnull=True)),
                name="pr_completed_at_iff_completed",
            ),
        ]
        indexes = [
            models.Index(fields=["maker", "status"], name="pr_maker_status_idx"),
            # `?updated_since=` and cursor paging in the sync order (docs/API.md, Syncing a list).
            models.Index(fields=["updated_at", "id"], name="pr_updated_at_id_idx"),
            GinIndex(fields=["search_document"], opclasses=["gin_trgm_ops"], name="pr_search_document_trgm"),
            # An approver's queue (`awaiting_me`, newest first) pages over pending requests only: walking the
            # primary key and skipping every other state read 170,000 rows at 1,000,000 invoices whenever the
            # pending ones were not the newest ids.
            models.Index(fields=["-id"], name="pr_pending_id_idx", condition=models.Q(status="pending")),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.name}"


class PRAttachment(models.Model):
    """A supporting document of a PR (contract, quotation, transfer receipt). The bytes live
    once in the file store; removing an attachment never deletes the file (the audit log and
    other documents may still point at it)."""

    pr = models.ForeignKey(
        PaymentRequest, verbose_name=_("payment request"), on_delete=models.CASCADE, related_name="attachments"
    )
    file = models.ForeignKey("files.StoredFile", verbose_name=_("file"), on_delete=models.PROTECT, related_name="+")
    # The name it was attached under: the file store keeps one row per content (the first upload's name),
    # so the same bytes attached as "hop-dong-ky.pdf" to another request keep that name here.
    name = models.CharField(_("name"), max_length=255, blank=True, default="")
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("added by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    added_at = models.DateTimeField(_("added at"), auto_now_add=True)

    class Meta:
        db_table = "pr_attachments"
        ordering = ["pr", "id"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        constraints = [models.UniqueConstraint(fields=["pr", "file"], name="pr_attachments_pr_file_unique")]

    def __str__(self) -> str:
        return f"{self.pr_id}: {self.file_id}"


class PRInvoice(models.Model):
    """An invoice bundled into a PR. Unique on the invoice, so the database itself keeps an
    invoice in at most one PR at a time; moving it is one UPDATE of `pr`."""

    pr = models.ForeignKey(
        PaymentRequest, verbose_name=_("payment request"), on_delete=models.CASCADE, related_name="invoice_links"
    )
    invoice = models.OneToOneField(
        "invoices.Invoice", verbose_name=_("invoice"), on_delete=models.PROTECT, related_name="pr_link"
    )
    linked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("linked by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    linked_at = models.DateTimeField(_("linked at"), auto_now_add=True)

    class Meta:
        db_table = "pr_invoice"
        ordering = ["pr", "id"]
        verbose_name = _("invoice link")
        verbose_name_plural = _("invoice links")

    def __str__(self) -> str:
        return f"{self.pr_id} ← {self.invoice_id}"


class PaymentRequestPreparer(models.Model):
    """Someone who shaped a payment request: created it, changed its payee, amount, invoices or
    chain, or requested its approval (docs/controls.md, PREPARER-NEVER-APPROVES). Kept for the
    request's whole life, also after it returns to draft: a preparer never approves any step of it."""

    pr = models.ForeignKey(
        PaymentRequest, verbose_name=_("payment request"), on_delete=models.CASCADE, related_name="preparers"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("preparer"), on_delete=models.PROTECT, related_name="+"
    )
    first_action = models.CharField(_("first action"), max_length=64)
    added_at = models.DateTimeField(_("added at"), auto_now_add=True)

    class Meta:
        db_table = "pr_preparers"
        ordering = ["pr", "id"]
        verbose_name = _("preparer")
        verbose_name_plural = _("preparers")
        constraints = [models.UniqueConstraint(fields=["pr", "user"], name="pr_preparers_pr_user_unique")]
        indexes = [models.Index(fields=["user", "pr"], name="pr_preparers_user_idx")]

    def __str__(self) -> str:
        return f"{self.pr_id}: {self.user_id}"
