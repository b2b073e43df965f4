"""The file store: every uploaded document (invoice XML, PDF, payment-request attachment) lives
in the `files` table, content in PostgreSQL `bytea`, so the database is the only thing to back
up and a file can never be out of sync with the records that reference it.

Content is deduplicated by SHA-256 (same bytes → one row) and is immutable once written.
The ORM never reads it: the managers defer it, and `StoredFileContentField` selects `NULL`
wherever it would be selected anyway (`select_related` from another model, `values()`), so
loading a model that references a file costs only its metadata. Content is read in chunks by
`files.services.stored_file_open` / `stored_file_iter_chunks`, and written in chunks by
`stored_file_create`.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Length, Now
from django.utils.translation import gettext_lazy as _


class FileType(models.TextChoices):
    """Types detected from the bytes (never from the client's name or header)."""

    XML = "application/xml", _("XML document")
    PDF = "application/pdf", _("PDF document")
    ZIP = "application/zip", _("ZIP archive")
    XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", _("Excel workbook (XLSX)")
    XLS = "application/vnd.ms-excel", _("Excel 97-2003 workbook (XLS)")
    PNG = "image/png", _("PNG image")
    JPEG = "image/jpeg", _("JPEG image")
    WEBP = "image/webp", _("WebP image")
    OTHER = "application/octet-stream", _("Other (binary)")


IMAGE_TYPES = frozenset({FileType.PNG, FileType.JPEG, FileType.WEBP})


class StoredFileContentField(models.BinaryField):
    """A `bytea` column the ORM writes but never reads back.

    Every SELECT the ORM builds (including `select_related` from another model, `values()`,
    `refresh_from_db()` and the admin) gets `NULL` in its place, so a listing of files, or of
    invoices with their file, never moves the content over the wire. Reading content goes
    through `files.services` (chunked `substring()` reads).
    """

    def select_format(self, compiler: Any, sql: str, params: Any) -> tuple[str, Any]:
        return "NULL::bytea", ()


class StoredFileManager(models.Manager["StoredFile"]):
    """Defers `content` as well: an instance saved after loading (e.g. a renamed file) then
    writes only the loaded columns, never the NULL placeholder over the bytes. (Where an
    instance comes from `select_related`, the NOT NULL constraint refuses such a write.)"""

    def get_queryset(self) -> models.QuerySet[StoredFile]:
        return super().get_queryset().defer("content")


class StoredFile(models.Model):
    """One stored document. Metadata and content share the row (one table to back up and
    audit); the content column is stored uncompressed out of line (`STORAGE EXTERNAL`) so a
    chunked download reads only the TOAST chunks it needs."""

    original_name = models.CharField(_("original name"), max_length=255)
    sha256 = models.CharField(_("SHA-256"), max_length=64, editable=False)
    size = models.BigIntegerField(_("size (bytes)"), editable=False)
    content_type = models.CharField(
        _("content type"), max_length=100, choices=FileType.choices, default=FileType.OTHER, editable=False
    )
    content = StoredFileContentField(_("content"), editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("uploaded at"), db_default=Now(), editable=False, db_index=True)

    objects = StoredFileManager()

    class Meta:
        db_table = "files"
        base_manager_name = "objects"  # related access (`invoice.source_file`) defers content too
        ordering = ["-created_at", "-id"]
        verbose_name = _("stored file")
        verbose_name_plural = _("stored files")
        constraints = [
            # Deduplication: one row per content. (A constraint, not unique=True: no extra LIKE index.)
            models.UniqueConstraint(fields=["sha256"], name="files_sha256_unique"),
            models.CheckConstraint(condition=Q(sha256__regex=r"^[0-9a-f]{64}$"), name="files_sha256_hex"),
            models.CheckConstraint(condition=Q(size__gt=0), name="files_size_positive"),
            # length(bytea) comes from the TOAST pointer: no content is read to check it.
            models.CheckConstraint(condition=Q(size=Length("content")), name="files_size_matches_content"),
            models.CheckConstraint(condition=~Q(original_name=""), name="files_original_name_not_empty"),
        ]

    def __str__(self) -> str:
        return self.original_name

    @property
    def is_pdf(self) -> bool:
        return self.content_type == FileType.PDF

    @property
    def is_image(self) -> bool:
        """A raster image people can look at in the page (never SVG: it could carry script)."""
        return self.content_type in IMAGE_TYPES
