"""The semantic audit actions of the notifications app (table `notification_deliveries`)."""

from django.db import models
from django.utils.translation import gettext_lazy as _

TABLE = "notification_deliveries"


class DeliveryAction(models.TextChoices):
    RETRY = "retry_delivery", _("Retry delivery")
