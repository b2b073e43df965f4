"""Per-user export templates of the period-end workbench (docs/workbench.md)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class ExportTemplate(models.Model):
    """A user's own layout of the bank-transfer export: which columns, in which order, under
    which headers. Banks and accountants each want their own file shape; keeping it saved
    means finance never re-arranges the same spreadsheet by hand every month-end.

    `columns` is a list of `{"key": <column key>, "label": <header>}`; the keys are validated
    by the service against `payments.workbench.exports.COLUMNS`."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="workbench_export_templates",
    )
    name = models.CharField(_("name"), max_length=100)
    columns = models.JSONField(_("columns"), default=list)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        db_table = "workbench_export_templates"
        ordering = ["user", "name", "id"]
        verbose_name = _("export template")
        verbose_name_plural = _("export templates")
        constraints = [
            models.UniqueConstraint(fields=["user", "name"], name="workbench_export_templates_user_name_unique"),
            models.CheckConstraint(condition=~Q(name=""), name="workbench_export_templates_name_not_empty"),
        ]

    def __str__(self) -> str:
        return self.name
