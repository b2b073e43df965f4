from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from acountee.api.serializers import BulkFailureSerializer, StrictModelSerializer, StrictSerializer
from approvals.api.serializers import MONEY, ChainSerializer, StepInputSerializer, UserBriefSerializer
from approvals.models import ApprovalFlow
from payments.models import PaymentMethod, PaymentRequest, PaymentRequestStatus, PaymentRequestType
from payments.selectors import payment_request_bank_details


class PaymentMethodSerializer(StrictModelSerializer):
    class Meta:
        model = PaymentMethod
        fields = ["id", "name", "bank_name", "bank_account", "account_name", "note", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]


class InvoiceLinkSerializer(StrictSerializer):
    pr = serializers.IntegerField(min_value=1, max_value=2**63 - 1)


class InvoiceLinkResultSerializer(serializers.Serializer):
    invoice = serializers.IntegerField()
    pr = serializers.IntegerField(allow_null=True)


MAX_FROM_INVOICES = 1000


class FromInvoicesInputSerializer(StrictSerializer):
    """One call for a request paying these invoices (issue 20): a direct draft whose amount is their total
    payable and whose chain is the flow for that amount; all or nothing."""

    invoice_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
        min_length=1,
        max_length=MAX_FROM_INVOICES,
        help_text="Imported invoices in no other request, in one currency.",
    )
    name = serializers.CharField(
        max_length=255, required=False, allow_blank=True, default="", help_text="Default: the sellers' names."
    )


class PaymentRequestInputSerializer(StrictSerializer):
    """Create (all required fields) and PATCH (partial). The chain comes from the approval flow
    for the amount; `flow` or `steps` set a custom chain (permission `approvals.customize_chain`,
    else 403 CUSTOM_CHAIN_NOT_ALLOWED). `amount` is typed only on an advanced request without
    invoices: a request with invoices is for their total (400 AMOUNT_FROM_INVOICES otherwise)."""

    name = serializers.CharField(max_length=255)
    type = serializers.ChoiceField(choices=PaymentRequestType.choices, default=PaymentRequestType.DIRECT)
    amount = serializers.DecimalField(
        min_value=0, required=False, **MONEY, help_text="Advanced requests without invoices only; otherwise derived."
    )
    currency = serializers.RegexField(r"^[A-Za-z]{3}$", max_length=3, default="VND")
    note = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")
    bank_name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    bank_account = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    account_name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    payment_method = serializers.PrimaryKeyRelatedField(
        queryset=PaymentMethod.objects.all(), required=False, help_text="Copies its bank details onto the PR."
    )
    flow = serializers.PrimaryKeyRelatedField(
        queryset=ApprovalFlow.objects.all(),
        required=False,
        allow_null=True,
        help_text="A custom chain copied from this flow; null returns a draft to the chain of the amount's flow.",
    )
    # many=True hands max_length to the ListSerializer (DRF >= 3.14); the stubs do not know it.
    steps = StepInputSerializer(many=True, required=False, max_length=20)  # type: ignore[call-arg]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "flow" in attrs and "steps" in attrs:
            raise serializers.ValidationError({"flow": [_("Give either a flow or inline steps, not both.")]})
        return attrs


class ApproveInputSerializer(StrictSerializer):
    step = serializers.IntegerField(
        min_value=1,
        max_value=1000,
        required=False,
        help_text="The step the approver saw; refused with STEP_CHANGED if it moved.",
    )


class RejectInputSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=2000)


class UncompleteInputSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=2000, help_text="Why the recorded payment is reversed (audited).")


class CompleteInputSerializer(StrictSerializer):
    payment_reference = serializers.CharField(max_length=128, required=False, allow_blank=True, default="")


class BulkApproveInputSerializer(StrictSerializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1), allow_empty=False, max_length=1000
    )


class BulkApproveResultSerializer(serializers.Serializer):
    approved = serializers.ListField(child=serializers.IntegerField())
    failed = BulkFailureSerializer(many=True)


class AttachmentInputSerializer(StrictSerializer):
    file = serializers.FileField(required=False, help_text="Upload a new file (multipart).")
    file_id = serializers.IntegerField(
        min_value=1, max_value=2**63 - 1, required=False, help_text="Or attach a file already in the store."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("file" in attrs) == ("file_id" in attrs):
            raise serializers.ValidationError({"file": [_("Give exactly one of file or file_id.")]})
        return attrs


# --- outputs -------------------------------------------------------------------------------------------
class PaymentRequestListSerializer(serializers.ModelSerializer):
    maker = UserBriefSerializer(read_only=True)
    current_step = serializers.SerializerMethodField()
    step_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = PaymentRequest
        fields = [
            "id",
            "name",
            "type",
            "amount",
            "currency",
            "status",
            "maker",
            "current_step",
            "step_count",
            "payee_is_new",
            "payment_reference",
            "created_at",
            "updated_at",
            "completed_at",
        ]
        read_only_fields = fields

    def get_current_step(self, pr: PaymentRequest) -> int:
        approval = getattr(pr, "approval", None)
        return approval.current_step if approval else 0

    def to_representation(self, pr: Any) -> dict[str, Any]:
        """The list is the hottest read: rows arrive as dicts (`LIST_ROW_FIELDS`, no model
        instances) and are built directly — the same output as the declared fields, which
        still describe the row in the schema (a test compares both)."""
        if isinstance(pr, dict) and type(self) is PaymentRequestListSerializer:
            return list_row(pr)
        return super().to_representation(pr)


_DECIMAL = serializers.DecimalField(**MONEY)
_DATETIME = serializers.DateTimeField()

# What the list reads per row (`QuerySet.values`), see `list_row`.
LIST_ROW_FIELDS = (
    "id",
    "name",
    "type",
    "amount",
    "currency",
    "status",
    "maker_id",
    "maker__email",
    "maker__name",
    "approval__current_step",
    "step_count",
    "payee_is_new",
    "payment_reference",
    "created_at",
    "updated_at",
    "completed_at",
)


def _datetime(value: Any, tz: Any) -> str | None:
    """DRF's DateTimeField output (ISO 8601 in the current time zone, `Z` for UTC), without
    its per-call machinery."""
    if value is None:
        return None
    text: str = value.astimezone(tz).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def list_row(row: dict[str, Any]) -> dict[str, Any]:
    from django.utils import timezone

    tz = timezone.get_current_timezone()
    return {
        "id": row["id"],
        "name": row["name"],
        "type": row["type"],
        "amount": _DECIMAL.to_representation(row["amount"]),
        "currency": row["currency"],
        "status": row["status"],
        "maker": {"id": row["maker_id"], "email": row["maker__email"], "name": row["maker__name"]},
        "current_step": row["approval__current_step"] or 0,
        "step_count": row["step_count"],
        "payee_is_new": row["payee_is_new"],
        "payment_reference": row["payment_reference"],
        "created_at": _datetime(row["created_at"], tz),
        "updated_at": _datetime(row["updated_at"], tz),
        "completed_at": _datetime(row["completed_at"], tz),
    }


def _step_state(pr: PaymentRequest, number: int, current: int) -> str:
    if pr.status in (PaymentRequestStatus.APPROVED, PaymentRequestStatus.COMPLETED):
        return "done"
    if pr.status == PaymentRequestStatus.DRAFT:
        return "waiting"
    return "done" if number < current else "current" if number == current else "waiting"


class AttachmentSerializer(serializers.Serializer):
    file_id = serializers.IntegerField()
    name = serializers.CharField()
    size = serializers.IntegerField()
    content_type = serializers.CharField()
    added_at = serializers.DateTimeField()


class BankAccountSerializer(serializers.Serializer):
    bank_name = serializers.CharField()
    bank_account = serializers.CharField()
    account_name = serializers.CharField()


class BankDetailsSerializer(BankAccountSerializer):
    source = serializers.ChoiceField(choices=["pr", "invoices"])  # type: ignore[assignment]  # shadows Field.source
    conflict = serializers.BooleanField(help_text="The linked invoices name different accounts.")
    missing = serializers.BooleanField(help_text="Nothing to pay to.")
    candidates = BankAccountSerializer(many=True)
    frozen = serializers.BooleanField(help_text="The payee fixed when approval was requested: what is paid.")


class PayeeCheckSerializer(serializers.Serializer):
    new = serializers.BooleanField(help_text="This account was never paid before for this supplier (tax code).")
    tax_code = serializers.CharField(help_text="The supplier's tax code (empty without invoices).")
    previous = BankAccountSerializer(
        allow_null=True, help_text="The account this supplier was last paid to, when it differs."
    )


class LinkedInvoiceSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    series = serializers.CharField()
    number = serializers.CharField()
    issue_date = serializers.DateField()
    seller_name = serializers.CharField()
    total_payable = serializers.DecimalField(**MONEY)
    status = serializers.CharField()


class PaymentRequestDetailSerializer(PaymentRequestListSerializer):
    # The detail query has no `step_count` annotation: count the prefetched steps instead.
    step_count = serializers.SerializerMethodField()  # type: ignore[assignment]  # replaces the list's IntegerField
    approval = serializers.SerializerMethodField()
    attachments = serializers.SerializerMethodField()
    bank_details = serializers.SerializerMethodField()
    invoices = serializers.SerializerMethodField()
    invoices_total = serializers.SerializerMethodField(
        help_text="Sum of the linked invoices' amounts payable (null without invoices): equals `amount`."
    )
    payee_check = serializers.SerializerMethodField()
    preparers = serializers.SerializerMethodField()

    class Meta(PaymentRequestListSerializer.Meta):
        fields = [
            *PaymentRequestListSerializer.Meta.fields,
            "note",
            "bank_name",
            "bank_account",
            "account_name",
            "bank_details",
            "payee_check",
            "preparers",
            "approval",
            "invoices",
            "invoices_total",
            "attachments",
        ]
        read_only_fields = fields

    @extend_schema_field(PayeeCheckSerializer)
    def get_payee_check(self, pr: PaymentRequest) -> dict[str, Any]:
        previous = None
        if pr.previous_bank_account:
            previous = {
                "bank_name": pr.previous_bank_name,
                "bank_account": pr.previous_bank_account,
                "account_name": pr.previous_account_name,
            }
        return {"new": pr.payee_is_new, "tax_code": pr.payee_tax_code, "previous": previous}

    @extend_schema_field(UserBriefSerializer(many=True))
    def get_preparers(self, pr: PaymentRequest) -> list[dict[str, Any]]:
        return [{"id": p.user_id, "email": p.user.email, "name": p.user.name} for p in pr.preparers.all()]

    def get_step_count(self, pr: PaymentRequest) -> int:
        approval = getattr(pr, "approval", None)
        return len(approval.steps.all()) if approval else 0

    @extend_schema_field(ChainSerializer)
    def get_approval(self, pr: PaymentRequest) -> dict[str, Any]:
        approval = getattr(pr, "approval", None)
        if approval is None:
            return {"flow": None, "current_step": 0, "steps": []}
        steps = []
        for step in approval.steps.all():
            records = {r.approver_id: r for r in step.records.all()}
            approvers = []
            for su in step.step_users.all():
                rec = records.get(su.user_id)
                approvers.append(
                    {
                        "id": su.user_id,
                        "name": su.user.name,
                        "email": su.user.email,
                        "approved": rec is not None,
                        "approved_at": rec.approved_at.isoformat() if rec else None,
                        "acted_by": ({"id": rec.acted_by_id, "name": rec.acted_by.name} if rec else None),
                    }
                )
            steps.append(
                {
                    "number": step.number,
                    "name": step.name,
                    "mode": step.mode,
                    "state": _step_state(pr, step.number, approval.current_step),
                    "approvers": approvers,
                }
            )
        return {
            "flow": approval.flow_id,
            "flow_name": approval.flow.name if approval.flow else None,
            "current_step": approval.current_step,
            "steps": steps,
        }

    @extend_schema_field(AttachmentSerializer(many=True))
    def get_attachments(self, pr: PaymentRequest) -> list[dict[str, Any]]:
        return [
            {
                "file_id": a.file_id,
                "name": a.name or a.file.original_name,
                "size": a.file.size,
                "content_type": a.file.content_type,
                "added_at": a.added_at.isoformat(),
            }
            for a in pr.attachments.all()
        ]

    @extend_schema_field(BankDetailsSerializer)
    def get_bank_details(self, pr: PaymentRequest) -> dict[str, Any]:
        return payment_request_bank_details(pr).as_dict()

    def get_invoices_total(self, pr: PaymentRequest) -> str | None:
        links = list(pr.invoice_links.all())
        if not links:
            return None
        return _DECIMAL.to_representation(sum((link.invoice.total_payable for link in links), Decimal(0)))

    @extend_schema_field(LinkedInvoiceSerializer(many=True))
    def get_invoices(self, pr: PaymentRequest) -> list[dict[str, Any]]:
        return [
            {
                "id": link.invoice_id,
                "series": link.invoice.series,
                "number": link.invoice.number,
                "issue_date": link.invoice.issue_date.isoformat(),
                "seller_name": link.invoice.seller_name,
                "total_payable": str(link.invoice.total_payable),
                "status": link.invoice.status,
            }
            for link in pr.invoice_links.all()
        ]


# --- flows ------------------------------------------------------------------------------------------------
