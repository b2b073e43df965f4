from __future__ import annotations

from typing import Any

from rest_framework import serializers

from accounts.models import User
from acountee.api.serializers import StrictModelSerializer, StrictSerializer
from acountee.money import DecimalSize
from approvals.models import ApprovalDelegation, ApprovalFlow, StepMode

MONEY: DecimalSize = {"max_digits": 18, "decimal_places": 2}


class UserBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "name"]
        read_only_fields = fields


# --- inputs -------------------------------------------------------------------------------------------
class StepInputSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    mode = serializers.ChoiceField(choices=StepMode.choices, default=StepMode.ANYOF)
    approvers = serializers.ListField(
        child=serializers.PrimaryKeyRelatedField(queryset=User.objects.filter(is_active=True)),
        allow_empty=False,
        max_length=50,
    )


# Shapes of the detail's computed parts (the document's only: the methods below build the dicts).
class ActedBySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class StepApproverSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    email = serializers.EmailField()
    approved = serializers.BooleanField()
    approved_at = serializers.DateTimeField(allow_null=True)
    acted_by = ActedBySerializer(allow_null=True, help_text="Who clicked: a delegate, or the approver.")


class ChainStepSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    name = serializers.CharField()
    mode = serializers.ChoiceField(choices=StepMode.choices)
    state = serializers.ChoiceField(choices=["done", "current", "waiting"])
    approvers = StepApproverSerializer(many=True)


class ChainSerializer(serializers.Serializer):
    flow = serializers.IntegerField(allow_null=True)
    flow_name = serializers.CharField(allow_null=True, required=False)
    current_step = serializers.IntegerField()
    steps = ChainStepSerializer(many=True)


class FlowStepSerializer(StrictSerializer):
    number = serializers.IntegerField(read_only=True)
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    mode = serializers.ChoiceField(choices=StepMode.choices, default=StepMode.ANYOF)
    approvers = serializers.ListField(
        child=serializers.PrimaryKeyRelatedField(queryset=User.objects.filter(is_active=True)),
        allow_empty=False,
        max_length=50,
    )
    alternates = serializers.ListField(
        child=serializers.PrimaryKeyRelatedField(queryset=User.objects.filter(is_active=True)),
        required=False,
        default=list,
        max_length=50,
        help_text="Take the place of approvers who cannot approve a request (they prepared it, or are away "
        "with no substitute).",
    )

    def to_representation(self, step: Any) -> dict[str, Any]:
        return {
            "number": step.number,
            "name": step.name,
            "mode": step.mode,
            "approvers": [su.user_id for su in step.step_users.all() if not su.is_alternate],
            "alternates": [su.user_id for su in step.step_users.all() if su.is_alternate],
        }


class ApprovalFlowSerializer(StrictModelSerializer):
    steps = FlowStepSerializer(many=True, min_length=1, max_length=20)  # type: ignore[call-arg]  # as in PaymentRequestInputSerializer
    min_amount = serializers.DecimalField(min_value=0, required=False, allow_null=True, **MONEY)
    max_amount = serializers.DecimalField(min_value=0, required=False, allow_null=True, **MONEY)

    class Meta:
        model = ApprovalFlow
        fields = [
            "id",
            "name",
            "description",
            "is_active",
            "min_amount",
            "max_amount",
            "steps",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]
        extra_kwargs: dict[str, dict[str, Any]] = {"name": {"validators": []}}


class ApprovalDelegationSerializer(StrictModelSerializer):
    approver = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True),
        required=False,
        help_text="Defaults to yourself; owners may name anyone.",
    )
    substitute = serializers.PrimaryKeyRelatedField(queryset=User.objects.filter(is_active=True))

    class Meta:
        model = ApprovalDelegation
        fields = ["id", "approver", "substitute", "start_date", "end_date", "note", "created_at"]
        read_only_fields = ["id", "created_at"]
