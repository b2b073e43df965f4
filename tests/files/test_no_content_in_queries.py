"""Listing files, or loading any model that references a file, never reads the content."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db import connection, models
from django.test import Client
from django.test.utils import CaptureQueriesContext

from files.models import StoredFile
from tests.files.factories import stored_file


def _file_foreign_keys() -> list[tuple[type[models.Model], str]]:
    return [
        (model, field.name)
        for model in apps.get_models()
        for field in model._meta.get_fields()
        if isinstance(field, models.ForeignKey | models.OneToOneField) and field.related_model is StoredFile
    ]


def _reads_content(sql: str) -> bool:
    return '"files"."content"' in sql or "substring(content" in sql


def test_every_orm_path_selects_null_for_content():
    querysets = [
        StoredFile.objects.all(),
        StoredFile._base_manager.all(),  # what `instance.file` uses
        StoredFile._default_manager.select_related("created_by"),
        StoredFile.objects.values("content"),
    ]
    for queryset in querysets:
        sql = str(queryset.query)
        assert not _reads_content(sql), sql
    # Managers defer it; where it is asked for anyway, the placeholder comes instead.
    assert "NULL::bytea" in str(StoredFile.objects.values("content").query)
    assert "NULL::bytea" in str(StoredFile.objects.defer(None).query)


@pytest.mark.parametrize(("model", "field"), _file_foreign_keys() or [pytest.param(None, None, marks=pytest.mark.skip)])
def test_models_referencing_a_file_never_select_its_content(model, field):
    sql = str(model._default_manager.select_related(field).query)
    assert f'"{StoredFile._meta.db_table}"' in sql
    assert not _reads_content(sql), sql


@pytest.mark.django_db
def test_file_list_and_related_loads_run_without_content(finance):
    for n in range(3):
        stored_file(b"%PDF-1.4 " + bytes([n]) * 50_000, name=f"{n}.pdf", created_by=finance)
    with CaptureQueriesContext(connection) as queries:
        files = list(StoredFile.objects.select_related("created_by"))
        assert all("content" in file.get_deferred_fields() for file in files)
    assert len(queries.captured_queries) == 1
    assert not any(_reads_content(q["sql"]) for q in queries.captured_queries)


@pytest.mark.django_db
def test_admin_list_pins_its_queries_and_reads_no_content(owner, finance):
    for n in range(5):
        stored_file(b"<x>" + bytes([65 + n]) * 10_000 + b"</x>", name=f"{n}.xml", created_by=finance)
    client = Client()
    client.force_login(owner)
    client.get("/admin/files/storedfile/")  # warm caches (content types, permissions)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/admin/files/storedfile/")
    assert response.status_code == 200
    assert not any(_reads_content(q["sql"]) for q in queries.captured_queries)
    baseline = len(queries.captured_queries)
    for n in range(5, 15):
        stored_file(b"<y>" + bytes([65 + n]) * 1000 + b"</y>", name=f"{n}.xml", created_by=finance)
    with CaptureQueriesContext(connection) as queries:
        client.get("/admin/files/storedfile/")
    assert len(queries.captured_queries) == baseline  # no N+1
