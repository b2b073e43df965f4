"""The reports app stores nothing: one unmanaged model carries its permission (`reports.view_reports`)
so roles can grant reports like any other Django permission, and the admin lists a Reports entry."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Report(models.Model):
    """No table (unmanaged): reports are computed from other apps' tables on every request.

    Why a model at all: Django permissions hang on a content type, and owners grant
    `reports.view_reports` to roles through the same role editor as everything else."""

    class Meta:
        managed = False
        db_table = "reports_none"
        default_permissions = ()
        permissions = [("view_reports", _("Can view the reports"))]
        verbose_name = _("report")
        verbose_name_plural = _("reports")

    def __str__(self) -> str:
        return str(self._meta.verbose_name)
