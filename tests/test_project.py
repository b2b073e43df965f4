"""Project-level contracts: OpenAPI schema, docs page, commands, demo data."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client

from accounts.models import Role, Team, User, UserRole

ROOT = Path(__file__).resolve().parent.parent


def test_openapi_schema_is_valid_and_warning_free(tmp_path):
    # --validate checks the document against the OpenAPI 3 JSON schema.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))
    assert (tmp_path / "schema.yml").read_text().startswith("openapi: 3.")


@pytest.mark.django_db
def test_schema_and_docs_are_served():
    client = Client()
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    assert schema.json()["openapi"].startswith("3.")
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content


@pytest.mark.django_db
def test_admin_login_page_is_served():
    assert Client().get("/admin/login/").status_code == 200


@pytest.mark.django_db
def test_createsuperuser_noinput_creates_an_owner(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "S3cure-pass-word")
    call_command("createsuperuser", "--email", "boss@acountee.test", "--noinput", verbosity=0)
    user = User.objects.get(email="boss@acountee.test")
    assert user.is_owner
    assert user.check_password("S3cure-pass-word")


@pytest.mark.django_db
def test_seed_demo_is_idempotent():
    call_command("seed_demo", verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115
    counts = (User.objects.count(), Team.objects.count(), UserRole.objects.count())
    call_command("seed_demo", verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115
    assert (User.objects.count(), Team.objects.count(), UserRole.objects.count()) == counts
    assert set(UserRole.objects.values_list("role__name", flat=True)) == set(
        Role.objects.filter(is_builtin=True).values_list("name", flat=True)
    )


def test_migrations_are_in_sync_with_models():
    result = subprocess.run(
        [sys.executable, "manage.py", "makemigrations", "--check", "--dry-run"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
