"""CSV and XLSX downloads of a report: its `columns` as the header, its `rows` as the body.
Money stays exact (Decimal → text in CSV, a number cell in XLSX)."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal
from typing import Any

from acountee.spreadsheet import neutralise
from payments.reports.queries import ReportResult

CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Report amounts are VND (their headers say so): whole numbers, grouped in the spreadsheet.
MONEY_KEYS = frozenset({"amount", "outstanding", "paid", "total"})
VND_NUMBER_FORMAT = "#,##0"


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    text = str(value)
    # Spreadsheet formula injection: a supplier named "=HYPERLINK(…)" stays text.
    return text if isinstance(value, int | float | Decimal) else neutralise(text)


def _tables(report: ReportResult) -> list[ReportResult]:
    if report.sections:
        return list(report.sections.values())
    return [report]


def to_csv(report: ReportResult) -> bytes:
    """UTF-8 with a BOM (Excel opens Vietnamese names correctly); sections one after another,
    separated by a blank line and a title row."""
    out = io.StringIO()
    writer = csv.writer(out)
    for i, table in enumerate(_tables(report)):
        if report.sections:
            if i:
                writer.writerow([])
            writer.writerow([str(table.title)])
        writer.writerow([str(label) for _key, label in table.columns])
        writer.writerows([[_cell_text(row.get(key)) for key, _label in table.columns] for row in table.rows])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(report: ReportResult) -> bytes:
    """One sheet per table."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    for table in _tables(report):
        sheet = workbook.create_sheet(title=re.sub(r"[\[\]:*?/\\]", "-", str(table.title))[:31] or "report")
        sheet.append([str(label) for _key, label in table.columns])
        for row in table.rows:
            cells = []
            for key, _label in table.columns:
                value = row.get(key)
                if key in MONEY_KEYS and isinstance(value, int | Decimal):
                    cell = WriteOnlyCell(sheet, value=value)
                    cell.number_format = VND_NUMBER_FORMAT
                    cells.append(cell)
                else:
                    cells.append(value if isinstance(value, int | Decimal) or value is None else _cell_text(value))
            sheet.append(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def filename(report: ReportResult, extension: str) -> str:
    return f"{report.key}.{extension}"
