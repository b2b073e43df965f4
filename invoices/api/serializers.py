"""Invoice API shapes. Money is serialized as strings (Decimal), never floats."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from acountee.api.fields import JSONObjectField
from acountee.api.serializers import BulkFailureSerializer, StrictSerializer
from invoices.findings import LABELS as FINDING_LABELS
from invoices.findings import finding_text
from invoices.models import Invoice, InvoiceService, PaymentType, RelatedMatch
from invoices.selectors import invoice_payment_eligibility, invoice_pr_id

LIST_FIELDS = [
    "id",
    "status",
    "template_code",
    "series",
    "number",
    "number_int",
    "issue_date",
    "currency",
    "exchange_rate",
    "seller_name",
    "seller_tax_code",
    "buyer_name",
    "buyer_tax_code",
    "total_before_tax",
    "total_tax",
    "total_payable",
    "tax_authority_code",
    "related_kind",
    "related_match",
    "original",
    "buyer_tax_code_mismatch",
    "superseded_while_linked",
    "seller_signature",
    "tax_authority_signature",
    "seller_certificate_matches",
    "pr",
    "source_file",
    "created_at",
]


class ConsistencyFindingSerializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=list(FINDING_LABELS), help_text="What disagrees.")
    rate = serializers.CharField(help_text="The tax rate as written, for per-rate findings; blank otherwise.")
    expected = serializers.DecimalField(
        max_digits=20, decimal_places=2, help_text="The header's (or summary's) figure."
    )
    found = serializers.DecimalField(max_digits=20, decimal_places=2, help_text="What the other side adds up to.")
    difference = serializers.DecimalField(max_digits=20, decimal_places=2, help_text="found - expected")
    text = serializers.CharField(help_text="The finding in the reader's language.")


class PaymentEligibilitySerializer(serializers.Serializer):
    allowed = serializers.BooleanField(help_text="May it be put in a payment request (authenticity)?")
    code = serializers.CharField(help_text="INVOICE_SIGNATURE_INVALID, INVOICE_SIGNER_NOT_SELLER or blank.")
    message = serializers.CharField()
    overridden = serializers.BooleanField(help_text="Allowed only because an owner overrode the refusal.")


class InvoiceListSerializer(serializers.ModelSerializer):
    pr = serializers.SerializerMethodField()
    related_match = serializers.ChoiceField(
        choices=RelatedMatch.choices,
        allow_blank=True,
        read_only=True,
        help_text="How the original a correction names was found; blank when the invoice corrects none.",
    )
    payment_eligibility = serializers.SerializerMethodField(
        help_text="Whether the invoice may be put in a payment request as far as its signatures go."
    )
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    consistency_findings = serializers.SerializerMethodField(
        help_text="Where the lines, per-rate summary and header disagree, and by how much (empty: they agree)."
        " The amount payable is always the header's TgTTTBSo."
    )

    class Meta:
        model = Invoice
        fields = [*LIST_FIELDS, "status_label", "consistency_findings", "payment_eligibility"]
        read_only_fields = fields

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_pr(self, obj: Invoice) -> int | None:
        return invoice_pr_id(obj)

    @extend_schema_field(PaymentEligibilitySerializer)
    def get_payment_eligibility(self, obj: Invoice) -> dict[str, Any]:
        verdict = invoice_payment_eligibility(invoice=obj)
        return {
            "allowed": verdict.allowed,
            "code": verdict.code,
            "message": str(verdict.message),
            "overridden": verdict.overridden,
        }

    @extend_schema_field(ConsistencyFindingSerializer(many=True))
    def get_consistency_findings(self, obj: Invoice) -> list[dict[str, Any]]:
        findings: list[dict[str, Any]] = list(obj.consistency_findings or [])
        return [{**finding, "text": finding_text(finding, obj.currency)} for finding in findings]


class InvoiceServiceSerializer(serializers.ModelSerializer):
    extras = JSONObjectField(read_only=True, help_text="Other information (TTKhac), as imported.")

    class Meta:
        model = InvoiceService
        fields = [
            "id",
            "position",
            "nature",
            "line_number",
            "code",
            "name",
            "unit",
            "quantity",
            "unit_price",
            "discount_rate",
            "discount_amount",
            "amount",
            "tax_rate_text",
            "tax_rate",
            "tax_amount",
            "tax_amount_source",
            "extras",
        ]
        read_only_fields = fields


class InvoiceDetailSerializer(InvoiceListSerializer):
    services = InvoiceServiceSerializer(many=True, read_only=True)
    history_url = serializers.SerializerMethodField()
    payment_type = serializers.ChoiceField(
        choices=PaymentType.choices, allow_blank=True, read_only=True, help_text="Blank until someone sets it."
    )
    rate_summaries = serializers.ListField(
        child=JSONObjectField(), read_only=True, help_text="Per-rate summary (TToanThue/THTTLTSuat), as imported."
    )
    extras = JSONObjectField(read_only=True, help_text="Other information (TTKhac), as imported.")
    signature_details = JSONObjectField(
        read_only=True,
        help_text="Per signature (seller, tax_authority): status, code, algorithm, subject, serial, not_before,"
        " not_after, tax_code, tax_code_matches, signing_time, within_validity, chain (not_checked unless a trust"
        " store is configured: certificate chain trust is otherwise not checked).",
    )

    def get_history_url(self, obj: Invoice) -> str:
        """The audit trail of the invoice and its lines (audit API)."""
        return f"/api/audit/history/?table=invoices&record_id={obj.pk}"

    class Meta(InvoiceListSerializer.Meta):
        fields = [
            *InvoiceListSerializer.Meta.fields,
            "schema_version",
            "title",
            "currency_as_written",
            "payment_method_text",
            "issuer_tax_code",
            "related_template_code",
            "related_series",
            "related_number",
            "related_number_int",
            "related_issue_date",
            "related_note",
            "related_from_line_text",
            "seller_address",
            "seller_bank_account",
            "seller_bank_name",
            "seller_phone",
            "seller_email",
            "buyer_address",
            "trade_discount",
            "other_fees",
            "total_in_words",
            "rate_summaries",
            "extras",
            "content_hash",
            "payment_type",
            "payment_bank_name",
            "payment_bank_account",
            "payment_account_name",
            "imported_by",
            "updated_at",
            "signature_details",
            "seller_certificate_tax_code",
            "signature_override_reason",
            "signature_override_by",
            "signature_override_at",
            "services",
            "history_url",
        ]
        read_only_fields = fields


class PaymentDetailsSerializer(StrictSerializer):
    min_properties = 1  # stated in the document (acountee.api.schema.AutoSchema)
    payment_type = serializers.ChoiceField(choices=PaymentType.choices, required=False, allow_blank=True)
    payment_bank_name = serializers.CharField(max_length=400, required=False, allow_blank=True)
    payment_bank_account = serializers.CharField(max_length=50, required=False, allow_blank=True)
    payment_account_name = serializers.CharField(max_length=400, required=False, allow_blank=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs:
            raise serializers.ValidationError("Send at least one payment detail.")
        return attrs


class SignatureOverrideSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=1000, help_text="Why this invoice may be paid despite its signature.")


class IdsSerializer(StrictSerializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1), min_length=1, max_length=1000
    )


class ImportRequestSerializer(StrictSerializer):
    """Multipart: `files` only (the view refuses any other field)."""

    files = serializers.ListField(child=serializers.FileField(allow_empty_file=True), min_length=1)


class BulkResultSerializer(serializers.Serializer):
    done = serializers.ListField(child=serializers.IntegerField())
    failed = BulkFailureSerializer(many=True)


class ImportEntrySerializer(serializers.Serializer):
    name = serializers.CharField()
    result = serializers.ChoiceField(choices=["success", "skipped", "failure"])
    reason = serializers.CharField()
    invoice = serializers.IntegerField(allow_null=True)
    findings = ConsistencyFindingSerializer(many=True)
    notes = serializers.ListField(
        child=serializers.CharField(),
        help_text="What the import noticed about an imported invoice (its original found, ambiguous, not yet"
        " imported, …), in the reader's language.",
    )


class ImportCountsSerializer(serializers.Serializer):
    """How many entries ended each way (always the three keys)."""

    success = serializers.IntegerField(min_value=0)
    skipped = serializers.IntegerField(min_value=0, help_text="Duplicates of invoices already imported.")
    failure = serializers.IntegerField(min_value=0)


class ImportFileSerializer(serializers.Serializer):
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=["xml", "zip"])
    result = serializers.ChoiceField(choices=["success", "skipped", "failure", "partial"])
    reason = serializers.CharField()
    counts = ImportCountsSerializer()
    entries = ImportEntrySerializer(many=True)


class ImportReportSerializer(serializers.Serializer):
    summary = ImportCountsSerializer()
    files = ImportFileSerializer(many=True)
