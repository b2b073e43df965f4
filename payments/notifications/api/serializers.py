from __future__ import annotations

from rest_framework import serializers

from acountee.api.fields import BooleanField
from acountee.api.serializers import StrictModelSerializer, StrictSerializer
from payments.notifications.models import Notification, NotificationDelivery, NotificationPreference


class NotificationSerializer(StrictModelSerializer):
    pr_name = serializers.CharField(source="pr.name", read_only=True)
    on_behalf_of_name = serializers.SerializerMethodField()
    is_read = serializers.BooleanField(read_only=True)

    class Meta:
        model = Notification
        fields = [
            "id",
            "kind",
            "pr",
            "pr_name",
            "title",
            "body",
            "on_behalf_of",
            "on_behalf_of_name",
            "created_at",
            "is_read",
            "read_at",
        ]
        read_only_fields = fields

    def get_on_behalf_of_name(self, obj: Notification) -> str | None:
        return str(obj.on_behalf_of) if obj.on_behalf_of_id else None


class ReadAllInputSerializer(StrictSerializer):
    pr = serializers.IntegerField(
        required=False, min_value=1, max_value=2**63 - 1, help_text="Only this payment request's notifications."
    )


class ReadAllResultSerializer(serializers.Serializer):
    marked_read = serializers.IntegerField()
    unread_count = serializers.IntegerField()


class NotificationPreferenceSerializer(StrictModelSerializer):
    in_app = BooleanField(required=False)
    email = BooleanField(required=False)
    # null until the user first saves a preference (the defaults are shown unsaved).
    updated_at = serializers.DateTimeField(read_only=True, allow_null=True)

    class Meta:
        model = NotificationPreference
        fields = ["in_app", "email", "updated_at"]
        read_only_fields = ["updated_at"]


class UnreadFilterSerializer(StrictSerializer):
    unread = serializers.ChoiceField(choices=["true", "false"], required=False)
    page = serializers.CharField(required=False)
    page_size = serializers.CharField(required=False)


class NotificationDeliverySerializer(StrictModelSerializer):
    recipient = serializers.IntegerField(source="notification.recipient_id", read_only=True)
    recipient_email = serializers.CharField(source="notification.recipient.email", read_only=True)
    kind = serializers.CharField(source="notification.kind", read_only=True)
    pr = serializers.IntegerField(source="notification.pr_id", read_only=True)
    title = serializers.CharField(source="notification.title", read_only=True)

    class Meta:
        model = NotificationDelivery
        fields = [
            "id",
            "notification",
            "channel",
            "status",
            "recipient",
            "recipient_email",
            "address",
            "kind",
            "pr",
            "title",
            "attempts",
            "last_error",
            "next_attempt_at",
            "sent_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields
