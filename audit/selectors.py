"""Reads of the audit and security logs (filters, one record's history, statistics)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypedDict

from django.db.models import Count, Max, Min, Q, QuerySet

from audit.history import CHILD_RULES, OWNED_RULES
from audit.models import AuditEntry, SecurityEvent

MAX_HISTORY_DEPTH = 4
MAX_HISTORY_IDS = 5000


def audit_entry_list(
    *,
    table: str | None = None,
    action: str | None = None,
    actor: str | None = None,
    date_from: datetime | None = None,
    date_to: datetime | None = None,
    record_id: str | None = None,
) -> QuerySet[AuditEntry]:
    qs = AuditEntry.objects.all()
    if table:
        qs = qs.filter(table_name=table)
    if record_id:
        qs = qs.filter(record_id=record_id)
    if action:
        qs = qs.filter(action=action)
    if actor:
        # A user id, or the recorded actor name (e-mail, system:<command>, unknown).
        by_id = actor.isascii() and actor.isdigit() and len(actor) <= 18
        qs = qs.filter(Q(actor_user_id=int(actor)) | Q(actor=actor)) if by_id else qs.filter(actor=actor)
    if date_from is not None:
        qs = qs.filter(occurred_at__gte=date_from)
    if date_to is not None:
        qs = qs.filter(occurred_at__lt=date_to)
    return qs.order_by("-id")


def _child_ids_query(table: str, parent_key: str, parent_ids: list[int]) -> QuerySet[AuditEntry, str]:
    """Ids of the `table` rows whose snapshot (before or after) has `parent_key` in `parent_ids`.

    Served by the history indexes (migration audit.0013: one per side of each child rule, partial
    on the child table; tests/audit/test_history_indexes.py). `order_by()`: distinct record ids,
    not (record_id, id) pairs of the model's default order."""
    condition = Q(**{f"after__{parent_key}__in": parent_ids}) | Q(**{f"before__{parent_key}__in": parent_ids})
    return (
        AuditEntry.objects.filter(table_name=table)
        .filter(condition)
        .order_by()
        .values_list("record_id", flat=True)
        .distinct()[:MAX_HISTORY_IDS]
    )


def _child_ids(table: str, parent_key: str, parent_ids: list[int]) -> set[str]:
    return set(_child_ids_query(table, parent_key, parent_ids))


def _owned_ids(table: str, key: str, ids: list[int]) -> set[str]:
    rows = (
        AuditEntry.objects.filter(table_name=table, record_id__in=[str(i) for i in ids])
        .order_by()
        .values_list(f"before__{key}", f"after__{key}")
        .distinct()[:MAX_HISTORY_IDS]
    )
    return {str(value) for pair in rows for value in pair if isinstance(value, int)}


def history_condition(*, table: str, record_id: str) -> Q:
    """`Q` matching the entries of the record and of its child rows (see audit.history)."""
    condition = Q(table_name=table, record_id=record_id)
    frontier: list[tuple[str, set[str]]] = [(table, {record_id})]
    for _depth in range(MAX_HISTORY_DEPTH):
        next_frontier: list[tuple[str, set[str]]] = []
        for parent_table, ids in frontier:
            numeric = sorted(int(i) for i in ids if i.isascii() and i.isdigit())
            if not numeric:
                continue
            for rule in CHILD_RULES.get(parent_table, []):
                child_ids = _child_ids(rule.table, rule.parent_key, numeric)
                if child_ids:
                    condition |= Q(table_name=rule.table, record_id__in=sorted(child_ids))
                    next_frontier.append((rule.table, child_ids))
            for owned in OWNED_RULES.get(parent_table, []):
                owned_ids = _owned_ids(parent_table, owned.key, numeric)
                if owned_ids:
                    condition |= Q(table_name=owned.table, record_id__in=sorted(owned_ids))
                    next_frontier.append((owned.table, owned_ids))
        frontier = next_frontier
        if not frontier:
            break
    # Semantic entries about the record (audit_log(table=..., record_id=...)) match the first Q.
    return condition


def record_history(*, table: str, record_id: str) -> QuerySet[AuditEntry]:
    return AuditEntry.objects.filter(history_condition(table=table, record_id=record_id)).order_by("id")


class AuditStat(TypedDict):
    """One row of `audit_stats`: how many entries one table has for one action, and their time span."""

    table_name: str
    action: str
    count: int
    first: datetime
    last: datetime


def audit_stats(*, base: QuerySet[AuditEntry] | None = None) -> list[AuditStat]:
    qs = base if base is not None else AuditEntry.objects.all()
    return list(
        qs.order_by()
        .values("table_name", "action")
        .annotate(count=Count("id"), first=Min("occurred_at"), last=Max("occurred_at"))
        .order_by("table_name", "action")
    )


def security_event_list(
    *,
    kind: str | None = None,
    user_id: int | None = None,
    email: str | None = None,
    date_from: datetime | None = None,
    date_to: datetime | None = None,
) -> QuerySet[SecurityEvent]:
    qs = SecurityEvent.objects.all()
    if kind:
        qs = qs.filter(kind=kind)
    if user_id is not None:
        qs = qs.filter(user_id=user_id)
    if email:
        qs = qs.filter(email__iexact=email)
    if date_from is not None:
        qs = qs.filter(occurred_at__gte=date_from)
    if date_to is not None:
        qs = qs.filter(occurred_at__lt=date_to)
    return qs.order_by("-id")


def row_changes(entry: AuditEntry) -> dict[str, list[Any]]:
    """Field → [old, new] for what the entry changed (all fields for inserts/deletes)."""
    before = entry.before if isinstance(entry.before, dict) else {}
    after = entry.after if isinstance(entry.after, dict) else {}
    keys = sorted(set(before) | set(after))
    return {k: [before.get(k), after.get(k)] for k in keys if before.get(k) != after.get(k)}
