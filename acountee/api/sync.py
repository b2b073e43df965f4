"""Lists an integrator can sync (issue 20): `updated_since`, `ordering` and cursor paging, the same on every list.

A list view says what it offers with two attributes:

- `updated_since_field`: the column `?updated_since=` reads (`updated_at` wherever rows change; the creation time
  on append-only lists). Rows with that column `>=` the given instant are listed.
- `ordering_fields`: the whitelist `?ordering=` takes (`field` ascending, `-field` descending, comma-separated);
  `id` is always appended as the tie-breaker (same direction as the last field) so that paging is deterministic.

Cursor paging (`?pagination=cursor`, then `?cursor=` from `next_cursor`) is keyset paging over that ordering:
the cursor carries the last row's ordering values, the next page starts strictly after them. Without `ordering`
it follows `updated_at, id` (the sync order) where the list has an `updated_since_field`, `id` otherwise.
docs/API.md "Syncing a list" is the recipe."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from django.db.models import Field, Model, Q, QuerySet
from django.utils.translation import gettext as _
from rest_framework.request import Request

from acountee.errors import ValidationFailed

UPDATED_SINCE = "updated_since"
ORDERING = "ordering"
CURSOR = "cursor"
PAGINATION = "pagination"
TIE_BREAKER = "id"
# Read by SyncFilterBackend and the paginator: a view validating its own query leaves these to them.
SYNC_PARAMETERS = frozenset({UPDATED_SINCE, ORDERING, CURSOR, PAGINATION})


@dataclass(frozen=True)
class Key:
    """One ordering column: its name (a concrete field of the list's model) and direction."""

    name: str
    descending: bool

    def expression(self) -> str:
        return f"-{self.name}" if self.descending else self.name


def cursor_mode(request: Request) -> bool:
    return request.query_params.get(PAGINATION) == "cursor" or bool(request.query_params.get(CURSOR))


def check_pagination_switch(request: Request) -> None:
    value = request.query_params.get(PAGINATION, "")
    if value not in ("", "page", "cursor"):
        raise ValidationFailed(details={PAGINATION: [_("Give page or cursor.")]})
    if value == "page" and request.query_params.get(CURSOR):
        raise ValidationFailed(details={CURSOR: [_("A cursor needs pagination=cursor (or no pagination).")]})


def parse_updated_since(raw: str) -> datetime:
    """ISO 8601 with its offset (`2026-12-01T08:00:00+07:00`, `…Z`); a naive or unreadable value is a 400."""
    value: datetime | None = None
    try:
        parsed = datetime.fromisoformat(raw.replace("z", "Z"))
        # In UTC: PostgreSQL refuses offsets past ±15:59 that Python reads (`+16:12`), and the instant is the same.
        if parsed.utcoffset() is not None:
            value = parsed.astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: year 1 or 9999 moved past the calendar's ends
        value = None
    if value is None:
        raise ValidationFailed(
            details={
                UPDATED_SINCE: [
                    _(
                        "Give a date and time with its time zone, in ISO 8601 (for example "
                        "2026-12-01T08:00:00+07:00 or 2026-12-01T01:00:00Z)."
                    )
                ]
            }
        )
    return value


def ordering_choices(view: Any) -> list[str]:
    fields: tuple[str, ...] = getattr(view, "ordering_fields", ())
    return [choice for name in fields for choice in (name, f"-{name}")]


def enum_names(choices: list[str]) -> list[str]:
    return [f"{choice[1:].upper()}_DESC" if choice.startswith("-") else choice.upper() for choice in choices]


def parse_ordering(view: Any, raw: str) -> list[Key]:
    allowed = set(getattr(view, "ordering_fields", ()))
    keys: list[Key] = []
    for part in raw.split(","):
        part = part.strip()
        name = part.removeprefix("-")
        if not name or name not in allowed or any(key.name == name for key in keys):
            raise ValidationFailed(
                details={
                    ORDERING: [
                        _("Order by one or more of: %(choices)s (a leading - for descending, comma-separated).")
                        % {"choices": ", ".join(sorted(allowed))}
                    ]
                }
            )
        keys.append(Key(name, part.startswith("-")))
    if keys[-1].name != TIE_BREAKER:
        keys.append(Key(TIE_BREAKER, keys[-1].descending))
    return keys


def default_cursor_ordering(view: Any) -> list[Key]:
    field = getattr(view, "updated_since_field", None)
    return [Key(field, False), Key(TIE_BREAKER, False)] if field else [Key(TIE_BREAKER, False)]


def request_ordering(request: Request) -> list[Key] | None:
    """The ordering the sync filter applied to this request's list (None: the list's own)."""
    return getattr(request, "_sync_ordering", None)


class SyncFilterBackend:
    """`updated_since` and `ordering` on the list action of a view that declares them (see the module)."""

    def filter_queryset(self, request: Request, queryset: QuerySet[Any], view: Any) -> QuerySet[Any]:
        if getattr(view, "action", None) != "list":
            return queryset
        field = getattr(view, "updated_since_field", None)
        raw_since = request.query_params.get(UPDATED_SINCE, "")
        if field and raw_since:
            queryset = queryset.filter(**{f"{field}__gte": parse_updated_since(raw_since)})
        keys: list[Key] | None = None
        raw_ordering = request.query_params.get(ORDERING, "")
        if raw_ordering and getattr(view, "ordering_fields", None):
            keys = parse_ordering(view, raw_ordering)
        elif cursor_mode(request):
            keys = default_cursor_ordering(view)
        if keys is not None:
            request._sync_ordering = keys  # type: ignore[attr-defined]  # read by the paginator and list views
            queryset = queryset.order_by(*(key.expression() for key in keys))
        return queryset

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        if getattr(view, "action", None) != "list":
            return []
        parameters: list[dict[str, Any]] = []
        field = getattr(view, "updated_since_field", None)
        if field:
            parameters.append(
                {
                    "name": UPDATED_SINCE,
                    "in": "query",
                    "required": False,
                    "description": f"Only rows whose `{field}` is at or after this instant (>=), ISO 8601 with a "
                    "time zone. With `pagination=cursor` and the default ordering: everything changed since then, "
                    "oldest change first, resumable (docs/API.md, Syncing a list).",
                    "schema": {"type": "string", "format": "date-time"},
                }
            )
        choices = ordering_choices(view)
        if choices:
            default = ", ".join(key.expression() for key in default_cursor_ordering(view))
            parameters.append(
                {
                    "name": ORDERING,
                    "in": "query",
                    "required": False,
                    "description": "Sort by a field (`-` for descending); `id` breaks ties. Default: the list's own "
                    f"order; with `pagination=cursor`, `{default}`.",
                    # Generated clients name the members (`AMOUNT_DESC`, not `VALUE_3`; openapi-python-client).
                    "schema": {"type": "string", "enum": choices, "x-enum-varnames": enum_names(choices)},
                }
            )
        return parameters


# --- the cursor ------------------------------------------------------------------------------------------------


def _fields(model: type[Model], keys: list[Key]) -> list[Field[Any, Any]]:
    fields = []
    for key in keys:
        field = model._meta.get_field(key.name)
        if not isinstance(field, Field) or field.null:
            raise ValidationFailed(
                details={ORDERING: [_("This ordering cannot be used with cursor paging (the field may be empty).")]}
            )
        fields.append(field)
    return fields


def check_cursor_ordering(model: type[Model], keys: list[Key]) -> None:
    _fields(model, keys)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _ordering_label(keys: list[Key]) -> str:
    return ",".join(key.expression() for key in keys)


def encode_cursor(keys: list[Key], values: list[Any]) -> str:
    raw = json.dumps({"o": _ordering_label(keys), "v": [_plain(value) for value in values]}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _bad_cursor() -> ValidationFailed:
    return ValidationFailed(
        _("This cursor is not valid for this list and ordering: start again without it."),
        code="INVALID_CURSOR",
        details={CURSOR: [_("This cursor is not valid for this list and ordering: start again without it.")]},
    )


def decode_cursor(token: str, model: type[Model], keys: list[Key]) -> list[Any]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise _bad_cursor() from None
    if not isinstance(data, dict) or data.get("o") != _ordering_label(keys):
        raise _bad_cursor()
    raw_values = data.get("v")
    if not isinstance(raw_values, list) or len(raw_values) != len(keys):
        raise _bad_cursor()
    try:
        return [field.to_python(value) for field, value in zip(_fields(model, keys), raw_values, strict=True)]
    except Exception:  # a ValidationError of any field type: the token was altered
        raise _bad_cursor() from None


def after(keys: list[Key], values: list[Any]) -> Q:
    """Rows strictly after `values` in `keys` order: (k1 > v1) or (k1 = v1 and k2 > v2) or …"""
    condition = Q()
    equal: dict[str, Any] = {}
    for key, value in zip(keys, values, strict=True):
        lookup = "lt" if key.descending else "gt"
        condition |= Q(**equal, **{f"{key.name}__{lookup}": value})
        equal[key.name] = value
    return condition


def row_values(row: Any, model: type[Model], keys: list[Key]) -> list[Any]:
    fields = _fields(model, keys)
    if isinstance(row, dict):
        return [row[key.name] for key in keys]
    if isinstance(row, tuple):
        return list(row[: len(keys)])
    return [getattr(row, field.attname) for field in fields]
