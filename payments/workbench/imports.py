"""Reader of the paid-PR file: CSV `pr_id,payment_reference` (header required), or the XLSX
the export produced with its payment reference column filled in.

The header is found by the column keys (`pr_id`, `payment_reference`: the export's CSV header, the
contract) or by the export's header labels in any language we ship (`PR id` / `Payment reference`, and
their Vietnamese labels), so a file keeps importing whoever exported it and whoever imports it.

Hostile files fail as a whole with one clear error before anything is completed: too big,
too many rows, not UTF-8, binary, wrong header or delimiter, an XLSX whose ZIP would inflate
beyond the limit (ZIP bomb). Row-level problems (ids that are not numbers, empty references)
are reported per row by the service."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from acountee.errors import TooLarge, ValidationFailed
from payments.workbench.exports import COLUMNS, TOTAL_LABEL

XLSX_MAGIC = b"PK\x03\x04"
MAX_CELL = 1000  # characters kept of a cell for the report; longer values are refused anyway


def max_bytes() -> int:
    return int(getattr(settings, "WORKBENCH_IMPORT_MAX_BYTES", 5 * 1024 * 1024))


def max_rows() -> int:
    return int(getattr(settings, "WORKBENCH_IMPORT_MAX_ROWS", 20_000))


def max_xlsx_inflated() -> int:
    return int(getattr(settings, "WORKBENCH_IMPORT_MAX_XLSX_INFLATED", 50 * 1024 * 1024))


@dataclass
class RawRow:
    number: int  # the row number in the file (the header is row 1)
    pr_id: str
    payment_reference: str


def _norm(value: Any) -> str:
    return " ".join(
        str(value if value is not None else "").replace("\ufeff", "").strip().lower().replace("_", " ").split()
    )


def _in_every_language(text: Any) -> set[str]:
    """`text` (a lazy translation) normalised, in English and in every language of LANGUAGES."""
    from django.utils import translation

    found = set()
    for code in ["en", *(code for code, _name in settings.LANGUAGES)]:
        with translation.override(code):
            found.add(_norm(text))
    return found


def accepted_headers() -> dict[str, set[str]]:
    """The header cells that name each column the import reads (normalised: case, spaces and `_` ignored)."""
    return {
        "pr_id": {_norm("pr_id"), "id", *_in_every_language(COLUMNS["pr_id"].label)},
        "payment_reference": {_norm("payment_reference"), *_in_every_language(COLUMNS["payment_reference"].label)},
    }


def _header_positions(header: list[Any]) -> tuple[int, int]:
    """Where `pr_id` and `payment_reference` are: by key or by the export's header labels in any language
    we ship (`accepted_headers`)."""
    names = accepted_headers()
    cells = [_norm(c) for c in header]
    found = {}
    for key, accepted in names.items():
        for i, cell in enumerate(cells):
            if cell in accepted:
                found[key] = i
                break
    if len(found) < 2:
        hint = ""
        joined = ",".join(str(c or "") for c in header)
        if any(d in joined for d in (";", "\t", "|")) and len(header) == 1:
            hint = " " + _("The file seems to use another delimiter than a comma.")
        raise ValidationFailed(
            _("The first row must be the header pr_id,payment_reference.") + hint,
            code="WRONG_HEADER",
            details={"header": [str(c)[:100] for c in header[:20]]},
        )
    return found["pr_id"], found["payment_reference"]


def _cell(values: list[Any], index: int) -> str:
    if index >= len(values) or values[index] is None:
        return ""
    value = values[index]
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()[:MAX_CELL]


def _rows(records: Iterator[list[Any]]) -> list[RawRow]:
    header = next(records, None)
    if header is None or not any(str(c or "").strip() for c in header):
        raise ValidationFailed(_("The file is empty."), code="EMPTY_FILE")
    id_at, ref_at = _header_positions(list(header))
    totals = _in_every_language(TOTAL_LABEL)
    rows: list[RawRow] = []
    limit = max_rows()
    for number, values in enumerate(records, 2):
        values = list(values)
        if not any(str(v if v is not None else "").strip() for v in values):
            continue  # blank lines
        if _norm(_cell(values, id_at)) in totals or (id_at and _norm(_cell(values, 0)) in totals):
            continue  # the export's total row
        if len(rows) >= limit:
            raise TooLarge(
                _("The file has more than %(n)d rows; split it.") % {"n": limit},
                code="TOO_MANY_ROWS",
                details={"max_rows": limit},
            )
        rows.append(RawRow(number, _cell(values, id_at), _cell(values, ref_at)))
    return rows


def _read_csv(content: bytes) -> list[RawRow]:
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ValidationFailed(_("The file is UTF-16 text. Save it as CSV UTF-8."), code="NOT_UTF8")
    if b"\x00" in content:
        raise ValidationFailed(_("This is not a CSV text file."), code="NOT_A_CSV")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationFailed(_("The file is not UTF-8 text. Save it as CSV UTF-8."), code="NOT_UTF8") from None
    try:
        return _rows(iter(csv.reader(io.StringIO(text, newline=""), strict=True)))
    except csv.Error as exc:
        raise ValidationFailed(_("The CSV file cannot be read: %(error)s") % {"error": exc}, code="BAD_CSV") from None


def _read_xlsx(content: bytes) -> list[RawRow]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
        inflated = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        raise ValidationFailed(_("The XLSX file is damaged."), code="BAD_XLSX") from None
    if inflated > max_xlsx_inflated():
        raise TooLarge(
            _("The XLSX file unpacks to more than the limit (%(mb)d MB).")
            % {"mb": max_xlsx_inflated() // (1024 * 1024)},
            code="XLSX_TOO_LARGE",
        )
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds (KeyError, InvalidFileException, XML errors)
        raise ValidationFailed(_("The XLSX file is damaged or not a spreadsheet."), code="BAD_XLSX") from None
    try:
        ws = wb.worksheets[0] if wb.worksheets else None
        if ws is None:
            raise ValidationFailed(_("The file is empty."), code="EMPTY_FILE")
        return _rows(iter(list(r) for r in ws.iter_rows(values_only=True)))
    except (ValidationFailed, TooLarge):
        raise
    except Exception:
        raise ValidationFailed(_("The XLSX file is damaged or not a spreadsheet."), code="BAD_XLSX") from None
    finally:
        wb.close()


def read_paid_file(upload: Any) -> list[RawRow]:
    """Rows of an uploaded paid file (a Django UploadedFile, bytes or a binary stream)."""
    limit = max_bytes()
    if isinstance(upload, bytes):
        content = upload
    else:
        size = getattr(upload, "size", None)
        if size is not None and size > limit:
            raise TooLarge(
                _("The file is larger than %(mb).1f MB.") % {"mb": limit / 1024 / 1024},
                code="FILE_TOO_LARGE",
                details={"max_bytes": limit},
            )
        upload.seek(0) if hasattr(upload, "seek") else None
        content = upload.read(limit + 1)
    if len(content) > limit:
        raise TooLarge(
            _("The file is larger than %(mb).1f MB.") % {"mb": limit / 1024 / 1024},
            code="FILE_TOO_LARGE",
            details={"max_bytes": limit},
        )
    if not content.strip():
        raise ValidationFailed(_("The file is empty."), code="EMPTY_FILE")
    if content.startswith(XLSX_MAGIC):
        return _read_xlsx(content)
    return _read_csv(content)
