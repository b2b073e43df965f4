from __future__ import annotations

from rest_framework import serializers

from acountee.api.serializers import StrictModelSerializer, StrictSerializer
from payments.models import PaymentMethod


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
