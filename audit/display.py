"""Audit entries as people read them: translated labels, formatted values, local times.

The log stores raw JSON (row snapshots, semantic metadata). This module turns one entry into
rows of (label, value) where a value is either text or an aware datetime, which the template
renders with Django's `date` filter in the active language and time zone. Field labels come
from the model owning the table (found by `db_table`, without importing the owning app), so
they are the models' own translated verbose names.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import models
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.text import capfirst
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from acountee.money import format_money, format_number
from audit import audit_actions, selectors
from audit.models import AuditEntry

TEXT_LIMIT = 200
_DECIMAL = re.compile(r"^-?\d+\.\d+$")

# Keys of the services' semantic metadata (approvals/services/, payments, invoices).
METADATA_LABELS = {
    "step": _("Step"),
    "steps": _("Steps"),
    "on_behalf_of": _("On behalf of user #"),
    "acted_by": _("Acted by user #"),
    "step_satisfied": _("Step satisfied"),
    "pr_approved": _("Payment request approved"),
    "payment_reference": _("Payment reference"),
    "invoices": _("Invoices"),
    "reason": _("Reason"),
    "cleared_records": _("Approvals cleared"),
    "from_status": _("Previous status"),
    "chain_moved_back": _("Chain moved back"),
    "flow": _("Approval flow #"),
    "name": _("Name"),
    "amount": _("Amount"),
    "description": _("Description"),
    "is_active": _("Active"),
    "min_amount": _("Minimum amount (inclusive)"),
    "max_amount": _("Maximum amount (exclusive)"),
    "before": _("Before"),
    "after": _("After"),
    "custom": _("Custom chain"),
    "payee": _("Payee"),
    "fields": _("Fields changed"),
    "chain_replaced": _("Chain replaced"),
    "invoice": _("Invoice #"),
    "from_pr": _("From payment request #"),
    "to_pr": _("To payment request #"),
    "file_id": _("File #"),
    "approver": _("Approver #"),
    "substitute": _("Substitute #"),
    "start_date": _("From"),
    "end_date": _("To"),
}
MONEY_KEYS = {"amount", "total", "total_payable", "total_before_tax", "total_tax", "min_amount", "max_amount"}


@lru_cache(maxsize=256)
def _model_for_table(table: str) -> type[models.Model] | None:
    for model in apps.get_models():
        if model._meta.db_table == table:
            return model
    return None


def table_label(table: str) -> str:
    """What a table holds, in the reader's language (the model's plural name); the raw name when no model
    of ours has that table."""
    model = _model_for_table(table)
    return capfirst(str(model._meta.verbose_name_plural)) if model is not None else table


def audited_tables() -> list[tuple[str, str]]:
    """(table, label) of every table our apps' models have, by label: the log's table filter, read from the
    models instead of a scan of the log."""
    root = str(settings.BASE_DIR)
    tables = {
        m._meta.db_table
        for m in apps.get_models()
        if m._meta.managed and m._meta.app_config is not None and m._meta.app_config.path.startswith(root)
    }
    return sorted(((t, table_label(t)) for t in tables), key=lambda pair: pair[1].lower())


def _field(table: str, column: str) -> models.Field | None:
    model = _model_for_table(table)
    if model is None:
        return None
    for field in model._meta.concrete_fields:
        if field.column == column:
            return field
    return None


def _text(value: Any) -> str:
    text = str(value)
    return text if len(text) <= TEXT_LIMIT else text[: TEXT_LIMIT - 1] + "…"


def _money(value: Any, currency: str) -> str | None:
    try:
        return format_money(Decimal(str(value)), currency or "VND")
    except (InvalidOperation, ValueError, TypeError):
        return None


def _when(value: Any) -> dt.datetime | dt.date | None:
    if not isinstance(value, str) or len(value) < 10 or not value[:4].isdigit():
        return None
    try:
        # A date alone is a date: parse_datetime reads "2026-10-01" as midnight, shown as "00:00 …".
        return parse_date(value) if len(value) == 10 else parse_datetime(value)
    except ValueError:
        return None


def format_value(value: Any, *, key: str = "", field: models.Field | None = None, currency: str = "VND") -> Any:
    """Text for people, or {"datetime"|"date": value} for the template's `date` filter."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return gettext("Yes") if value else gettext("No")
    if field is not None and field.choices:
        return _text(dict(field.flatchoices).get(value, value))
    base = getattr(field, "base_field", None)  # an array of choices (webhook endpoints' event types)
    if isinstance(value, list) and base is not None and base.choices:
        labels = dict(base.flatchoices)
        return _text(", ".join(str(labels.get(item, item)) for item in value))
    money_field = isinstance(field, models.DecimalField) and field.decimal_places == 2
    if money_field or (field is None and key in MONEY_KEYS):
        formatted = _money(value, currency)
        if formatted is not None:
            return formatted
    if isinstance(field, models.DecimalField) or isinstance(value, float):
        # Quantities, unit prices and rates (six decimals, stored as JSON numbers): 15.000.000, not 15000000.0.
        try:
            return format_number(Decimal(str(value)))
        except (InvalidOperation, ValueError, TypeError):
            pass
    when = _when(value)
    if when is not None:  # the template formats it (active language, local time zone)
        return {"datetime": when} if isinstance(when, dt.datetime) else {"date": when}
    if isinstance(value, list):
        return _text(", ".join(_plain(item) for item in value))
    if isinstance(value, dict):
        return _text(", ".join(f"{k}: {_plain(v)}" for k, v in value.items()))
    return _text(value)


def _plain(value: Any) -> str:
    if isinstance(value, dict):
        if "number" in value and "name" in value:  # an approval step snapshot
            return f"{value['number']}. {value['name']}"
        return "; ".join(f"{k}: {_plain(v)}" for k, v in value.items())
    if isinstance(value, bool):
        return gettext("Yes") if value else gettext("No")
    if isinstance(value, float) or (isinstance(value, str) and _DECIMAL.match(value)):
        # Amounts inside JSON (an invoice's per-rate summary: "1470000.00") grouped the reader's way; digit strings
        # without a point (bank accounts, tax codes) are left as written.
        return format_number(Decimal(str(value)))
    return "—" if value is None else str(value)


def _field_label(table: str, column: str) -> tuple[str, models.Field | None]:
    field = _field(table, column)
    if field is not None:
        return capfirst(str(field.verbose_name)), field
    return capfirst(column.replace("_", " ")), None


def entry_changes(entry: AuditEntry) -> list[dict[str, Any]]:
    """Changed fields of a row entry: label, old, new (readable)."""
    after = entry.after if isinstance(entry.after, dict) else {}
    before = entry.before if isinstance(entry.before, dict) else {}
    cur = str(after.get("currency") or before.get("currency") or "VND")
    changes = []
    for column, (old, new) in selectors.row_changes(entry).items():
        label, field = _field_label(entry.table_name, column)
        # A created row shows its values, a deleted one its last values: no "— →" on every line.
        changes.append(
            {
                "field": label,
                "old": None if entry.action == "INSERT" else format_value(old, key=column, field=field, currency=cur),
                "new": None if entry.action == "DELETE" else format_value(new, key=column, field=field, currency=cur),
            }
        )
    return changes


def entry_details(entry: AuditEntry) -> list[dict[str, Any]]:
    """A semantic entry's metadata as label: value pairs (empty values left out)."""
    metadata = entry.metadata if isinstance(entry.metadata, dict) else {}
    currency = str(metadata.get("currency") or "VND")
    details = []
    for key, value in metadata.items():
        if value is None:
            continue
        # A key named like a column of the entry's table reads as that column (its label, its choices' labels).
        field = _field(entry.table_name, str(key))
        label = METADATA_LABELS.get(key) or (
            capfirst(str(field.verbose_name)) if field is not None else capfirst(str(key).replace("_", " "))
        )
        details.append({"label": label, "value": format_value(value, key=key, field=field, currency=currency)})
    return details


def action_label(entry: AuditEntry) -> str:
    """The row trigger's labels are audit's; semantic actions' labels are their apps' (audit.audit_actions)."""
    return audit_actions.action_label(entry.table_name, entry.action)


def history_rows(entries: Any) -> list[dict[str, Any]]:
    return [
        {
            "entry": entry,
            "action": action_label(entry),
            "table": table_label(entry.table_name),
            "changes": entry_changes(entry),
            "details": entry_details(entry),
        }
        for entry in entries
    ]
