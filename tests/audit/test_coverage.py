"""Every business table is audited, and every way of writing to it is caught (docs/audit.md).

Per table of the registry: insert, update and delete through the ORM and through raw SQL
each leave exactly one correct entry, attributed to the right actor. A table with the
trigger but no registry line fails here, and so does a business model whose table has no
trigger: adding a table to the audit is `AuditTrigger("<table>")` + one registry line.
"""

from __future__ import annotations

import datetime
import json
from decimal import Decimal
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth.models import Permission
from django.db import connection, models

from audit.context import acting_as, system_context
from tests.accounts.factories import RoleFactory, UserFactory
from tests.audit.helpers import audit_mark, entries_since, tables_with_audit_trigger
from tests.audit.registry import AUDITED_TABLE_FACTORIES, M2M_TABLES_TESTED_ELSEWHERE, NOT_AUDITED

BUSINESS_APPS = {"accounts", "files", "invoices", "payments", "approvals"}
RAW_ACTOR = "system:audit_raw_sql_test"


def business_tables() -> set[str]:
    tables = set()
    for model in apps.get_models(include_auto_created=True):
        meta = model._meta
        if meta.app_label in BUSINESS_APPS and meta.managed and not meta.proxy:
            tables.add(meta.db_table)
    return tables


@pytest.mark.django_db
def test_every_business_table_has_the_trigger():
    missing = business_tables() - set(tables_with_audit_trigger()) - set(NOT_AUDITED)
    assert not missing, f"business tables without AuditTrigger(...) in their migration: {sorted(missing)}"


@pytest.mark.django_db
def test_every_audited_table_is_in_the_registry():
    unregistered = set(tables_with_audit_trigger()) - set(AUDITED_TABLE_FACTORIES) - M2M_TABLES_TESTED_ELSEWHERE
    assert not unregistered, f"audited tables without a line in tests/audit/registry.py: {sorted(unregistered)}"


def _model_for_table(table: str) -> type[models.Model]:
    for model in apps.get_models(include_auto_created=True):
        if model._meta.db_table == table:
            return model
    raise AssertionError(f"no model for table {table}")


def _changed(field: models.Field, value: Any) -> Any:
    if isinstance(field, models.BooleanField):
        return not value
    if isinstance(field, models.DateTimeField):
        return (value or datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)) + datetime.timedelta(seconds=1)
    if isinstance(field, models.DateField):
        return (value or datetime.date(2026, 1, 1)) + datetime.timedelta(days=1)
    if isinstance(field, models.CharField | models.TextField):
        value = value or ""
        limit = getattr(field, "max_length", None) or 1000
        return (value[: limit - 1] if len(value) >= limit else value) + "z"
    if isinstance(field, models.DecimalField):
        return (value or Decimal(0)) + 1
    return (value or 0) + 1


def _field_to_change(model: type[models.Model], excluded: set[str]) -> models.Field:
    candidates = [
        f
        for f in model._meta.concrete_fields
        if not f.primary_key
        and not f.is_relation
        and not f.choices
        and f.column not in excluded
        and not isinstance(f, models.JSONField | models.BinaryField | models.UUIDField | models.EmailField)
    ]
    order = (models.TextField, models.CharField, models.BooleanField, models.DateTimeField, models.DateField)
    for kind in order:
        for field in candidates:
            if isinstance(field, kind):
                return field
    if candidates:
        return candidates[0]
    raise AssertionError(f"{model._meta.db_table}: no field the generic test can change")


def _row_json(table: str, pk: Any) -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT to_jsonb(t) FROM "{table}" t WHERE id = %s', [pk])
        row = cursor.fetchone()[0]
    return row if isinstance(row, dict) else json.loads(row)


def _one(mark: int, table: str, pk: Any, action: str, actor: str, only_action: bool = False) -> Any:
    filters = {"action": action} if only_action else {}
    found = entries_since(mark, table_name=table, record_id=str(pk), **filters)
    assert len(found) == 1, f"{table}#{pk} {action}: expected one entry, got {[(e.action, e.actor) for e in found]}"
    entry = found[0]
    assert entry.action == action
    assert entry.actor == actor
    return entry


@pytest.mark.django_db
@pytest.mark.parametrize("table", sorted(AUDITED_TABLE_FACTORIES))
def test_orm_and_raw_sql_writes_each_leave_one_correct_entry(table: str):
    factory = AUDITED_TABLE_FACTORIES[table]
    model = _model_for_table(table)
    excluded = set(filter(None, tables_with_audit_trigger().get(table, "").split(",")))
    field = _field_to_change(model, excluded)
    someone = UserFactory()

    # --- ORM, attributed to a user ---------------------------------------------------------
    with acting_as(someone):
        mark = audit_mark()
        obj = factory()
        # A factory may save twice (e.g. users: create, then set the password): one INSERT.
        entry = _one(mark, table, obj.pk, "INSERT", someone.email, only_action=True)
        assert entry.before is None and entry.after["id"] == obj.pk and entry.actor_user_id == someone.pk
        assert not excluded & set(entry.after), "excluded columns must never reach the audit"

        mark = audit_mark()
        old = getattr(obj, field.attname)
        new = _changed(field, old)
        model.objects.filter(pk=obj.pk).update(**{field.attname: new})
        entry = _one(mark, table, obj.pk, "UPDATE", someone.email)
        assert entry.before[field.column] != entry.after[field.column]

        mark = audit_mark()
        model.objects.filter(pk=obj.pk).update(**{field.attname: new})  # changes nothing
        assert entries_since(mark, table_name=table, record_id=str(obj.pk)) == []

        mark = audit_mark()
        model.objects.filter(pk=obj.pk).delete()
        entry = _one(mark, table, obj.pk, "DELETE", someone.email)
        assert entry.before["id"] == obj.pk and entry.after is None

    # --- raw SQL, attributed to a system process ---------------------------------------------
    other = factory()
    row = _row_json(table, other.pk)
    model.objects.filter(pk=other.pk).delete()
    with system_context("audit_raw_sql_test"), connection.cursor() as cursor:
        mark = audit_mark()
        # Generated columns (e.g. invoices.search_document) are computed, never inserted.
        columns = ", ".join(f'"{f.column}"' for f in model._meta.concrete_fields if not f.generated)
        cursor.execute(
            f'INSERT INTO "{table}" ({columns}) SELECT {columns} FROM jsonb_populate_record(NULL::"{table}", %s)',
            [json.dumps(row)],
        )
        entry = _one(mark, table, other.pk, "INSERT", RAW_ACTOR)
        assert entry.actor_user_id is None

        mark = audit_mark()
        new = _changed(field, model.objects.filter(pk=other.pk).values_list(field.attname, flat=True).get())
        cursor.execute(f'UPDATE "{table}" SET "{field.column}" = %s WHERE id = %s', [new, other.pk])
        _one(mark, table, other.pk, "UPDATE", RAW_ACTOR)

        mark = audit_mark()
        cursor.execute(f'DELETE FROM "{table}" WHERE id = %s', [other.pk])
        _one(mark, table, other.pk, "DELETE", RAW_ACTOR)


@pytest.mark.django_db
def test_role_permissions_many_to_many_through_orm_and_raw_sql():
    role = RoleFactory()
    perm = Permission.objects.get(codename="view_auditentry")
    someone = UserFactory()
    with acting_as(someone):
        mark = audit_mark()
        role.permissions.add(perm)
        [entry] = entries_since(mark, table_name="role_permissions")
        assert entry.action == "INSERT" and entry.actor == someone.email
        assert entry.after["role_id"] == role.pk and entry.after["permission_id"] == perm.pk
        mark = audit_mark()
        role.permissions.remove(perm)
        [entry] = entries_since(mark, table_name="role_permissions")
        assert entry.action == "DELETE" and entry.before["permission_id"] == perm.pk
    with system_context("audit_raw_sql_test"), connection.cursor() as cursor:
        mark = audit_mark()
        cursor.execute("INSERT INTO role_permissions (role_id, permission_id) VALUES (%s, %s)", [role.pk, perm.pk])
        cursor.execute("DELETE FROM role_permissions WHERE role_id = %s", [role.pk])
        assert [(e.action, e.actor) for e in entries_since(mark, table_name="role_permissions")] == [
            ("INSERT", RAW_ACTOR),
            ("DELETE", RAW_ACTOR),
        ]
