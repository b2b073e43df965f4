"""Writers of the bank-transfer export: CSV (streamed row by row, UTF-8 with BOM) and XLSX
(openpyxl write-only mode into a temporary file). Both run in constant memory: the PRs come
from `selectors.export_rows` (a server-side cursor read in chunks), never a list.

Every text cell is neutralised against formula injection: a value starting with `=`, `+`,
`-`, `@`, a tab or a carriage return gets a leading `'`, so a spreadsheet shows it as text
instead of evaluating it (a PR name like `=HYPERLINK(...)` stays inert).

One language for machines (docs/workbench.md, "Who reads which file"): the CSV is the bank's and the
integrators' file, so without a template its header is the column keys (`pr_id,name,…`) and its values are
language-neutral (`type` is `direct`/`advanced`, `bank_check` in English): the same bytes whoever runs it. A
template's own headers win (the bank's layout). The XLSX is the file a person opens: headers, types, checks
and the total row follow the reader's language."""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import IO, Any

from django.utils.functional import Promise
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from acountee.spreadsheet import FORMULA_PREFIXES, neutralise
from payments.models import PaymentRequestType
from payments.selectors import payment_request_bank_details

CHUNK_SIZE = 2000
CSV_BOM = "\ufeff"


@dataclass(frozen=True)
class Column:
    key: str
    label: Promise | str
    numeric: bool = False


# The column keys are the contract of templates and of the paid import (`pr_id`, `payment_reference`).
COLUMNS: dict[str, Column] = {
    c.key: c
    for c in [
        Column("pr_id", _("PR id"), numeric=True),
        Column("name", _("Name")),
        Column("supplier", _("Supplier")),
        Column("amount", _("Amount"), numeric=True),
        Column("currency", _("Currency")),
        Column("bank_name", _("Bank name")),
        Column("bank_account", _("Bank account")),
        Column("account_name", _("Account name")),
        Column("bank_check", _("Bank details check")),
        Column("type", _("Type")),
        Column("maker", _("Maker")),
        Column("note", _("Note")),
        Column("payment_reference", _("Payment reference")),
    ]
}
DEFAULT_COLUMN_KEYS = [
    "pr_id",
    "name",
    "supplier",
    "amount",
    "bank_name",
    "bank_account",
    "account_name",
    "bank_check",
    "type",
    "maker",
    "note",
    "payment_reference",
]
TOTAL_LABEL = _("Total")


def default_layout(*, machine: bool = False) -> list[dict[str, str]]:
    """The default columns: headed by their keys for machines (the CSV), by their labels in the reader's
    language for people (the XLSX)."""
    return [{"key": key, "label": key if machine else str(COLUMNS[key].label)} for key in DEFAULT_COLUMN_KEYS]


CONFLICT_TEXT = gettext_noop("CONFLICT: the invoices name different accounts (%(accounts)s)")
MISSING_TEXT = gettext_noop("MISSING: no bank account %(where)s")
ON_REQUEST_TEXT = gettext_noop("on the request")
ON_INVOICES_TEXT = gettext_noop("on the linked invoices")


def _bank_check(pr: Any, details: Any, *, machine: bool = False) -> str:
    """Empty when the payee is usable; else why not, in English for machines, in the reader's language
    for people."""
    text = (lambda message: message) if machine else gettext
    if details.conflict:
        accounts = ", ".join(c["bank_account"] or "?" for c in details.candidates)
        return text(CONFLICT_TEXT) % {"accounts": accounts}
    if details.missing:
        where = text(ON_REQUEST_TEXT if pr.type == PaymentRequestType.ADVANCED else ON_INVOICES_TEXT)
        return text(MISSING_TEXT) % {"where": where}
    return ""


def pr_values(pr: Any, type_labels: dict[str, str] | None) -> dict[str, Any]:
    """`type_labels` None: the row for machines (raw type values, English checks)."""
    """One PR as a row of raw values (Decimal for money, int for the id, str otherwise)."""
    details = payment_request_bank_details(pr)
    if pr.type == PaymentRequestType.DIRECT:
        sellers = dict.fromkeys(link.invoice.seller_name for link in pr.invoice_links.all() if link.invoice.seller_name)
        supplier = "; ".join(sellers) or details.account_name
    else:
        supplier = pr.account_name
    return {
        "pr_id": pr.pk,
        "name": pr.name,
        "supplier": supplier,
        "amount": pr.amount,
        "currency": pr.currency,
        "bank_name": details.bank_name,
        "bank_account": details.bank_account,
        "account_name": details.account_name,
        "bank_check": _bank_check(pr, details, machine=type_labels is None),
        "type": pr.type if type_labels is None else type_labels.get(pr.type, pr.type),
        "maker": pr.maker_name,
        "note": pr.note,
        "payment_reference": pr.payment_reference,
    }


def _type_labels() -> dict[str, str]:
    return {value: str(label).split(" (")[0] for value, label in PaymentRequestType.choices}


def iter_rows(prs: Iterable[Any], *, machine: bool = False) -> Iterator[dict[str, Any]]:
    """Rows of `selectors.export_rows` (or anything with the same attributes); `machine`: language-neutral."""
    labels = None if machine else _type_labels()
    for pr in prs:
        yield pr_values(pr, labels)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, int | Decimal):
        return str(value)
    value = str(value)
    if "\n" in value or "\r" in value:
        value = " ".join(value.splitlines())
    return "'" + value if value[:1] in _FORMULA_FIRST else value


_FORMULA_FIRST = frozenset(FORMULA_PREFIXES)


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_stream(rows: Iterable[dict[str, Any]], layout: list[dict[str, str]], *, batch: int = 200) -> Iterator[bytes]:
    """UTF-8 with BOM (so Excel shows Vietnamese names), header first (the first byte leaves
    before the query runs), then rows in small batches."""
    writer = csv.writer(_Echo(), lineterminator="\r\n")
    keys = [c["key"] for c in layout]
    yield (CSV_BOM + writer.writerow([neutralise(c["label"]) for c in layout])).encode("utf-8")
    buffer: list[str] = []
    numeric = {c["key"] for c in layout if COLUMNS[c["key"]].numeric}
    for row in rows:
        buffer.append(writer.writerow([row[k] if k in numeric else _text(row[k]) for k in keys]))
        if len(buffer) >= batch:
            yield "".join(buffer).encode("utf-8")
            buffer.clear()
    if buffer:
        yield "".join(buffer).encode("utf-8")


def money_number_format(currency: str) -> str:
    """Excel number format of an amount cell: VND has no minor unit (21,670,000; Excel shows
    21.670.000 under Vietnamese regional settings); other currencies keep two decimals."""
    return "#,##0" if currency == "VND" else "#,##0.00"


def xlsx_file(
    rows: Iterable[dict[str, Any]],
    layout: list[dict[str, str]],
    *,
    title: str = "Export",
) -> IO[bytes]:
    """A write-only workbook saved to an anonymous temporary file (deleted when closed),
    rewound for reading. Bold frozen header row, money as numbers with a thousands format,
    a bold total row under the amount column."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=title[:31] or "Export")
    ws.freeze_panes = "A2"
    bold = Font(bold=True)
    keys = [c["key"] for c in layout]
    widths = {
        "pr_id": 8,
        "amount": 16,
        "name": 36,
        "supplier": 32,
        "bank_name": 26,
        "bank_account": 20,
        "account_name": 32,
        "bank_check": 30,
        "note": 30,
        "payment_reference": 22,
        "maker": 22,
        "type": 10,
    }
    for i, key in enumerate(keys, 1):
        ws.column_dimensions[get_column_letter(i)].width = widths.get(key, 14)

    def header_cell(label: str) -> Any:
        cell = WriteOnlyCell(ws, value=neutralise(label))
        cell.font = bold
        return cell

    ws.append([header_cell(c["label"]) for c in layout])

    def money(value: Any, currency: str) -> Any:
        cell = WriteOnlyCell(ws, value=value)
        cell.number_format = money_number_format(currency)
        return cell

    total = Decimal("0")
    count = 0
    currencies: set[str] = set()
    for row in rows:
        count += 1
        total += row["amount"]
        currencies.add(row["currency"])
        ws.append(
            [
                money(row[k], row["currency"]) if k == "amount" else (row[k] if k == "pr_id" else _text(row[k]))
                for k in keys
            ]
        )
    if count:
        footer: list[Any] = [None] * len(keys)
        label_at = 1 if keys[0] == "amount" and len(keys) > 1 else 0
        if keys[label_at] != "amount":
            footer[label_at] = header_cell(str(TOTAL_LABEL))
        if "amount" in keys:
            cell = money(total, currencies.pop() if len(currencies) == 1 else "")
            cell.font = bold
            footer[keys.index("amount")] = cell
        ws.append(footer)
    out = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115 - handed to FileResponse, which closes it
    wb.save(out)
    out.seek(0)
    return out


def export_response(*, user: Any, month: Any = None, ids: Any = None, template_id: Any = None, fmt: str = "csv") -> Any:
    """The HTTP answer of an export, for the API and the admin alike: every input is checked
    before the first byte leaves (a bad month is a 400, not a broken download)."""
    from django.http import FileResponse, StreamingHttpResponse
    from django.utils import timezone
    from django.utils.translation import gettext

    from acountee.errors import ValidationFailed
    from payments.workbench import selectors, services

    services.ensure_workbench_access(user)
    if fmt not in ("csv", "xlsx"):
        raise ValidationFailed(gettext("Choose csv or xlsx."), details={"format": [gettext("csv or xlsx")]})
    month = selectors.parse_month(month) if month not in (None, "") else None
    ids = selectors.parse_ids(ids) if ids not in (None, "", []) else None
    if month is None and not ids:
        raise ValidationFailed(
            gettext("Choose a month (YYYY-MM) or payment request ids."),
            code="INVALID_MONTH",
            details={"month": [gettext("Required unless ids are given.")]},
        )
    template = (
        selectors.export_template_get(user=user, template_id=template_id) if template_id not in (None, "") else None
    )
    layout = services.export_layout(template=template, machine=fmt == "csv")
    prs = selectors.export_rows(month=month, ids=ids, chunk_size=CHUNK_SIZE)
    stem = f"bank-transfer-{month or 'selection'}-{timezone.localtime():%Y%m%d-%H%M}"
    if fmt == "xlsx":
        handle = xlsx_file(iter_rows(prs), layout, title=str(month or "Export"))
        return FileResponse(
            handle,
            as_attachment=True,
            filename=f"{stem}.xlsx",
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    response = StreamingHttpResponse(
        csv_stream(iter_rows(prs, machine=True), layout), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{stem}.csv"'
    return response
