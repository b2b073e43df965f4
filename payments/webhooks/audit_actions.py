"""The semantic audit actions of the webhooks app (tables `webhook_endpoints`, `webhook_deliveries`)."""

from django.db import models
from django.utils.translation import gettext_lazy as _

TABLE_ENDPOINTS = "webhook_endpoints"
TABLE_DELIVERIES = "webhook_deliveries"


class EndpointAction(models.TextChoices):
    CREATE = "create_webhook", _("Create webhook")
    UPDATE = "update_webhook", _("Change webhook")
    DELETE = "delete_webhook", _("Delete webhook")
    ROTATE_SECRET = "rotate_webhook_secret", _("Rotate webhook secret")


class DeliveryAction(models.TextChoices):
    REDELIVER = "redeliver_webhook", _("Redeliver webhook")
