"""The names of audit actions and their labels, and the registry the apps above fill.

The row triggers write `INSERT`/`UPDATE`/`DELETE` (`RowAction`, owned here). Semantic actions
belong to the app whose service records them: each app keeps a `TextChoices` in its own
`<app>/audit_actions.py` and registers it in its `AppConfig.ready()` with the table its entries
are written against, so this bottom app shows their labels without importing the apps above it.

An action's stored value is the contract (API filter `action=`, exports, stored rows): it never
changes once written. The same value may be used by two apps on different tables (`complete` is
an invoice completed on `invoices` and a payment request completed on `pr`): the table tells them
apart, so labels are looked up by (table, action).
"""

from __future__ import annotations

from django.db import models
from django.utils.functional import Promise
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _


class RowAction(models.TextChoices):
    """What the row trigger `audit_row_change()` records."""

    INSERT = "INSERT", _("Created")
    UPDATE = "UPDATE", _("Changed")
    DELETE = "DELETE", _("Deleted")


_LABELS: dict[tuple[str, str], str | Promise] = {}


def register_actions(table: str, actions: type[models.TextChoices]) -> None:
    """Declare an app's semantic actions on `table` (call from `AppConfig.ready()`)."""
    for value, label in actions.choices:
        known = _LABELS.get((table, value))
        if known is not None and str(known) != str(label):
            raise ValueError(f"audit action {value!r} on {table!r} registered twice with different labels")
        _LABELS[(table, value)] = label


def registered_actions() -> dict[tuple[str, str], str | Promise]:
    """Every registered (table, action) and its label."""
    return dict(_LABELS)


def action_choices() -> list[tuple[str, str]]:
    """(stored value, label) of every action, row and semantic, by label; a value two apps share on different
    tables (`complete`) shows both labels."""
    labels: dict[str, list[str]] = {value: [str(label)] for value, label in RowAction.choices}
    for (_table, value), label in _LABELS.items():
        named = labels.setdefault(value, [])
        if str(label) not in named:
            named.append(str(label))
    return sorted(((value, " / ".join(names)) for value, names in labels.items()), key=lambda pair: pair[1].lower())


def action_label(table: str, action: str) -> str:
    """The translated label of an entry's action; an unregistered one reads as its own name."""
    label = _LABELS.get((table, action))
    if label is None and action in RowAction.values:
        label = RowAction(action).label
    return str(label) if label is not None else capfirst(action.replace("_", " "))
