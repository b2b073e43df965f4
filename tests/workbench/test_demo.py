"""`make run`: the demo finance user has templates and the month's export shows approved PRs."""

from __future__ import annotations

import csv
import io
import os

import pytest
from django.core.management import call_command

from accounts.models import User
from payments.workbench.models import ExportTemplate

pytestmark = pytest.mark.django_db


def test_demo_export_shows_approved_prs(client_for, month):
    call_command("seed_demo", verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115
    user = User.objects.get(email="ketoan@acountee.local")
    templates = ExportTemplate.objects.filter(user=user)
    assert templates.count() == 2
    client = client_for(user)
    raw = b"".join(client.get("/api/workbench/export/", {"month": month, "format": "csv"}).streaming_content)
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert len(rows) > 1
    raw = b"".join(
        client.get(
            "/api/workbench/export/", {"month": month, "format": "csv", "template": templates.first().pk}
        ).streaming_content
    )
    assert len(list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))) == len(rows)
