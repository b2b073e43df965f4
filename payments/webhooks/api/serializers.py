from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from acountee.api.fields import BooleanField
from acountee.api.serializers import StrictModelSerializer, StrictSerializer
from payments.webhooks.models import Event, EventType, WebhookDelivery, WebhookEndpoint

# What `services.webhook_url_check` accepts, stated for clients (issue 20): an https URL with a host, no user
# name or password. Plain http to localhost, accepted outside production for development receivers, is left
# out of the contract.
URL_PATTERN = r"^https://[A-Za-z0-9._~-]+(:[0-9]{1,4})?([/?#][!-~]*)?$"


class WebhookURLField(serializers.CharField):
    request_pattern = URL_PATTERN  # in request bodies only (acountee.api.schema.AutoSchema): stored URLs may be older


class WebhookEndpointSerializer(StrictModelSerializer):
    """An endpoint as listed and read: never its secret (shown once, in the answer to the creation)."""

    url = WebhookURLField(max_length=500, help_text="https://… (http only to localhost outside production).")
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=EventType.choices), min_length=1, max_length=len(EventType)
    )
    is_active = BooleanField(required=False)
    created_by = serializers.IntegerField(source="created_by_id", read_only=True, allow_null=True)

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "url",
            "description",
            "event_types",
            "is_active",
            "previous_secret_expires_at",
            "created_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "previous_secret_expires_at", "created_by", "created_at", "updated_at"]
        extra_kwargs = {
            "previous_secret_expires_at": {
                "help_text": "After a secret rotation: until then the previous secret signs too (a second `v1=`)."
            }
        }


class WebhookEndpointCreatedSerializer(WebhookEndpointSerializer):
    """The answer to the creation (and to a secret rotation): the only time the signing secret is shown."""

    secret = serializers.CharField(read_only=True, help_text="The signing secret. Shown once: store it now.")

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]
        read_only_fields = [*WebhookEndpointSerializer.Meta.read_only_fields, "secret"]


class SecretRotationSerializer(StrictSerializer):
    overlap_hours = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=168,
        help_text="How long the previous secret keeps signing beside the new one (default "
        "WEBHOOK_SECRET_OVERLAP_HOURS, 24; 0 stops it at once).",
    )


class WebhookDeliverySerializer(StrictModelSerializer):
    event_type = serializers.CharField(source="event.type", read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "event",
            "event_type",
            "endpoint",
            "status",
            "attempts",
            "next_attempt_at",
            "last_response_code",
            "last_error",
            "delivered_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


# --- the payload's shape, for the document (recording.py writes it; docs/webhooks.md lists it per type) ----------
# Read-only descriptions: a generated client gets typed payloads. Keys are only ever added, so none of these
# refuses a key it does not know (responses carry no `additionalProperties: false`).
class EventPaymentRequestSerializer(serializers.Serializer):
    """The request after the change (`payments.webhooks.services.recording.pr_payload`)."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    type = serializers.CharField(help_text="direct or advanced")
    status = serializers.CharField(help_text="The state after the change (rejected: draft; uncompleted: approved).")
    amount = serializers.CharField(help_text="Decimal as a string, e.g. 21670000.00.")
    currency = serializers.CharField()
    maker_id = serializers.IntegerField()
    payment_reference = serializers.CharField(allow_null=True, help_text="The bank's reference once paid.")


class EventPayeeSerializer(serializers.Serializer):
    """The payee frozen at the approval request (`recording.payee_payload`)."""

    bank_name = serializers.CharField(allow_blank=True)
    bank_account = serializers.CharField(allow_blank=True)
    account_name = serializers.CharField(allow_blank=True)
    tax_code = serializers.CharField(allow_blank=True)
    is_new = serializers.BooleanField(help_text="Never paid before for the supplier (NEW-PAYEE-FLAGGED).")
    previous_bank_account = serializers.CharField(allow_null=True)


class EventInvoiceSerializer(serializers.Serializer):
    """An imported invoice (`recording.invoice_payload`)."""

    id = serializers.IntegerField()
    template_code = serializers.CharField()
    series = serializers.CharField()
    number = serializers.CharField()
    issue_date = serializers.DateField()
    seller_name = serializers.CharField()
    seller_tax_code = serializers.CharField()
    amount = serializers.CharField(help_text="Total payable, decimal as a string.")
    currency = serializers.CharField()
    status = serializers.CharField()


class EventStepSerializer(serializers.Serializer):
    number = serializers.IntegerField(help_text="The step now waiting for approval.")


class EventDataSerializer(serializers.Serializer):
    """The payload: stable English keys; which are present depends on the type (docs/webhooks.md)."""

    payment_request = EventPaymentRequestSerializer(required=False, help_text="Every payment_request.* event.")
    payee = EventPayeeSerializer(required=False, help_text="approval_requested and new_payee.")
    step = EventStepSerializer(required=False, help_text="approval_requested.")
    reason = serializers.CharField(required=False, help_text="rejected and uncompleted.")
    invoice = EventInvoiceSerializer(required=False, help_text="invoice.imported.")


@extend_schema_field(EventDataSerializer)
class PayloadField(serializers.JSONField):
    """An event's payload: an object with stable English keys (docs/webhooks.md lists them per type)."""


class EventSerializer(serializers.ModelSerializer):
    """One event of the feed: the same document a webhook POSTs (`data` is the payload)."""

    class Meta:
        model = Event
        fields = ["id", "type", "occurred_at"]
        read_only_fields = fields

    def get_fields(self) -> dict[str, serializers.Field]:
        # `data` is the field's name in the document (and the webhook body); declared here, not as a class
        # attribute, where it would hide Serializer.data.
        fields = super().get_fields()
        fields["data"] = PayloadField(source="payload", read_only=True, help_text="The payload; stable English keys.")
        return fields


class EventPageSerializer(serializers.Serializer):
    results = EventSerializer(many=True)
    next = serializers.IntegerField(
        help_text="The cursor to send as `after` for the following page (the last id returned, or `after` when "
        "nothing was new)."
    )
    has_more = serializers.BooleanField(help_text="More events are there right now: ask again at once.")


class EventQuerySerializer(StrictSerializer):
    after = serializers.IntegerField(
        required=False, default=0, min_value=0, max_value=2**63 - 1, help_text="Events with an id above this one."
    )
    limit = serializers.IntegerField(required=False, default=100, min_value=1, max_value=500)
    type = serializers.MultipleChoiceField(
        choices=EventType.choices, required=False, help_text="Only these types (repeat the parameter for several)."
    )
