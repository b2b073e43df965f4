"""The audit log: one row per business row change (written by PostgreSQL triggers) or per
business intent (written by services in the same transaction)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEntry(models.Model):
    """Append-only: the database refuses UPDATE, DELETE and TRUNCATE on this table."""

    action = models.CharField(_("action"), max_length=64)
    table_name = models.CharField(_("table"), max_length=128)
    record_id = models.CharField(_("record id"), max_length=64, blank=True)
    before = models.JSONField(_("before"), null=True, blank=True)
    after = models.JSONField(_("after"), null=True, blank=True)
    actor = models.CharField(_("actor"), max_length=255, default="unknown")
    actor_user_id = models.BigIntegerField(_("actor user id"), null=True, blank=True)
    occurred_at = models.DateTimeField(_("time"), db_default=models.Func(function="clock_timestamp"))
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.TextField(_("user agent"), blank=True, default="")
    metadata = models.JSONField(_("metadata"), default=dict, blank=True)
    checksum = models.CharField(_("checksum"), max_length=64, blank=True, default="")

    class Meta:
        db_table = "audit"
        ordering = ["-id"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        indexes = [
            models.Index(fields=["table_name", "record_id", "id"], name="audit_record_idx"),
            models.Index(fields=["occurred_at"], name="audit_time_idx"),
            models.Index(fields=["actor", "id"], name="audit_actor_idx"),
            models.Index(fields=["action", "id"], name="audit_action_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.table_name}#{self.record_id} by {self.actor}"
