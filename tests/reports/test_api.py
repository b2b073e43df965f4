"""`/api/reports/…`: permissions, JSON shape (money as strings), CSV/XLSX downloads, hostile
parameters, and query counts that do not grow with the data."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from tests.accounts.factories import RoleFactory, UserFactory
from tests.reports.factories import A, B, invoice

pytestmark = pytest.mark.django_db

URLS = {
    "payables-by-month": "/api/reports/payables-by-month/?from=2026-08&to=2026-11",
    "payables-by-supplier": "/api/reports/payables-by-supplier/?top=5",
    "aging": "/api/reports/aging/?as_of=2026-12-01",
    "approval-cycle-time": "/api/reports/approval-cycle-time/?from=2026-01&to=2026-12",
    "home": "/api/reports/home/",
}


def _error(response: Any) -> dict[str, Any]:
    return response.json()["error"]


# --- permissions -----------------------------------------------------------------------------------
@pytest.mark.parametrize("url", URLS.values())
def test_owner_reads_every_report(owner_client, dataset, url):
    assert owner_client.get(url).status_code == 200


@pytest.mark.parametrize("url", URLS.values())
def test_refused_without_capability_or_permission(client_for, outsider, finance, url):
    for user in (outsider, finance):
        response = client_for(user).get(url)
        assert response.status_code == 403
        assert _error(response)["code"] == "REPORTS_FORBIDDEN"
    if "home" in url:
        return
    # Refused in a download format too: the refusal is still JSON.
    response = client_for(outsider).get(url + ("&" if "?" in url else "?") + "format=csv")
    assert response.status_code == 403 and _error(response)["code"] == "REPORTS_FORBIDDEN"


def test_signed_out_is_401(anon_client):
    response = anon_client.get(URLS["aging"])
    assert response.status_code == 401


def test_team_capability_grants(client_for, analyst, dataset):
    assert client_for(analyst).get(URLS["payables-by-supplier"]).status_code == 200


def test_board_role_grants(client_for, approver, dataset):
    """The built-in `bod` role holds reports.view_reports (accounts/roles.py)."""
    assert client_for(approver).get(URLS["payables-by-month"]).status_code == 200


def test_role_permission_grants(client_for):
    from django.contrib.auth.models import Permission

    role = RoleFactory(name="report-readers")
    role.permissions.add(Permission.objects.get(content_type__app_label="reports", codename="view_reports"))
    user = UserFactory(email="reader@acountee.test", roles=["report-readers"])
    assert client_for(user).get(URLS["aging"]).status_code == 200


def test_inactive_owner_cannot_read(client_for, owner):
    client = client_for(owner)
    owner.is_active = False
    owner.save(update_fields=["is_active"])
    assert client.get(URLS["aging"]).status_code in (401, 403)


# --- JSON ------------------------------------------------------------------------------------------
def test_json_money_is_text(owner_client, dataset):
    body = owner_client.get(URLS["payables-by-supplier"]).json()
    assert body["report"] == "payables-by-supplier"
    assert body["params"] == {"from": None, "to": None, "top": 5}
    assert [c["key"] for c in body["columns"]] == [
        "tax_code",
        "name",
        "count",
        "outstanding_count",
        "outstanding",
        "paid",
        "total",
    ]
    assert body["rows"][0] == {
        "tax_code": B,
        "name": "Công ty B",
        "count": 3,
        "outstanding_count": 3,
        "outstanding": "9500000.00",
        "paid": "0.00",
        "total": "9500000.00",
    }


def test_cycle_time_json_sections(owner_client, dataset):
    body = owner_client.get(URLS["approval-cycle-time"]).json()
    assert set(body["sections"]) == {"per_flow", "per_step", "holders"}
    flow = next(r for r in body["sections"]["per_flow"]["rows"] if r["flow_id"] == dataset.flow.pk)
    assert (flow["median_hours"], flow["p90_hours"]) == ("9.00", "11.40")
    assert body["sections"]["holders"]["rows"][0]["email"] == "b-approver2@acountee.test"


def test_home_summary_json(owner_client, dataset):
    body = owner_client.get(URLS["home"]).json()
    assert {"month", "payables", "total_count", "total_amount", "oldest_pending"} <= set(body)
    assert [r["id"] for r in body["oldest_pending"]] == [dataset.prs["pending"].pk, dataset.prs["pending2"].pk]


# --- downloads -------------------------------------------------------------------------------------
def test_csv_download(owner_client, dataset):
    response = owner_client.get(URLS["payables-by-month"] + "&format=csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="payables-by-month.csv"' in response["Content-Disposition"]
    text = response.content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["Tháng", "Trạng thái", "Tên trạng thái", "Số lượng", "Số tiền (VND)"] or len(rows[0]) == 5
    data = {(r[0], r[1]): (r[3], r[4]) for r in rows[1:]}
    assert len(data) == 20
    assert data[("2026-11", "approved")] == ("2", "4800000.00")
    assert data[("2026-11", "unlinked")] == ("1", "2500000.00")


def test_xlsx_download(owner_client, dataset):
    response = owner_client.get(URLS["payables-by-supplier"] + "&format=xlsx")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 1 + 3
    assert rows[1][0] == B and rows[1][2] == 3 and float(rows[1][4]) == 9500000.0
    assert rows[2][0] == A and rows[2][1] == "Công ty A (mới)"


def test_cycle_time_downloads_every_section(owner_client, dataset):
    text = owner_client.get(URLS["approval-cycle-time"] + "&format=csv").content.decode("utf-8-sig")
    assert "b-approver2@acountee.test" in text and "11.40" in text
    book = load_workbook(
        io.BytesIO(owner_client.get(URLS["approval-cycle-time"] + "&format=xlsx").content), read_only=True
    )
    assert len(book.worksheets) == 3


def test_csv_neutralises_formulas(owner_client):
    invoice(seller="0109999999", name='=HYPERLINK("http://evil")', issued="2026-11-01", total="5")
    text = owner_client.get("/api/reports/payables-by-supplier/?format=csv").content.decode("utf-8-sig")
    assert "'=HYPERLINK" in text


# --- hostile parameters ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "query",
    [
        "payables-by-month/?from=2026-13",
        "payables-by-month/?from=2026-1",
        "payables-by-month/?to=abcd-ef",
        "payables-by-month/?from=2026-11&to=2026-01",
        "payables-by-month/?from=1990-01&to=2026-12",
        "payables-by-month/?from=0000-01",
        "payables-by-month/?from=2026-01&from=2026-02",
        "payables-by-month/?month=2026-01",
        "payables-by-supplier/?top=0",
        "payables-by-supplier/?top=101",
        "payables-by-supplier/?top=abc",
        "payables-by-supplier/?top=-1",
        "payables-by-supplier/?top=99999999999999999999",
        "payables-by-supplier/?from=2026-02-30",
        "payables-by-supplier/?from=2026-12-01&to=2026-01-01",
        "payables-by-supplier/?to=2026-1-1",
        "payables-by-supplier/?from=%00",
        "aging/?as_of=yesterday",
        "aging/?as_of=2026-00-10",
        "aging/?as_of=2026-12-01T00:00",
        "approval-cycle-time/?flow=1",
        "approval-cycle-time/?from=2026-13",
        "approval-cycle-time/?from=2026-12&to=2026-01",
        "approval-cycle-time/?from=2016-01&to=2026-12",
        "home/?x=1",
    ],
)
def test_hostile_parameters_are_400(owner_client, query):
    response = owner_client.get("/api/reports/" + query)
    assert response.status_code == 400, response.content
    error = _error(response)
    # Unknown ones (`month`, `flow`, `x`) are UNKNOWN_PARAMETER since issue 20: the document does not declare them.
    assert error["code"] in ("INVALID_REPORT_PARAMETER", "VALIDATION_ERROR", "UNKNOWN_PARAMETER")
    assert error["details"]


def test_hostile_parameter_in_download_format_is_json_400(owner_client):
    response = owner_client.get("/api/reports/payables-by-supplier/?top=0&format=xlsx")
    assert response.status_code == 400
    assert (
        _error(response)["details"] == {"top": ["Expected a whole number from 1 to 100."]}
        or "top" in _error(response)["details"]
    )


def test_unknown_format_is_refused(owner_client):
    response = owner_client.get("/api/reports/aging/?format=pdf")
    assert response.status_code == 404


def test_writes_are_not_allowed(owner_client):
    assert owner_client.post("/api/reports/aging/", {}).status_code == 405


# --- query counts ----------------------------------------------------------------------------------
def _count(client: Any, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    # The audit connection wrapper tells PostgreSQL the actor when it changed (not a report query).
    return len([q for q in ctx.captured_queries if "set_config('acountee.actor'" not in q["sql"]])


@pytest.mark.parametrize("name", URLS)
def test_query_count_does_not_grow_with_data(owner, dataset, name):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(owner)  # no token bookkeeping in the counts
    url = URLS[name]
    _count(client, url)  # warm-up: the user's roles and permissions are cached on it afterwards
    before = _count(client, url)
    for n in range(30):
        invoice(seller=f"0200000{n:03d}", name=f"NCC {n}", issued="2026-11-02", total="1000")
    assert _count(client, url) == before


@pytest.mark.parametrize(
    ("key", "query", "expected"),
    [
        ("payables-by-month", "from=2026-08&to=2026-11", 2),  # invoices; PRs without invoices
        ("payables-by-supplier", "top=5", 2),  # the ranking; the names of the chosen codes
        ("aging", "as_of=2026-12-01", 2),  # unlinked invoices; approved PRs
        ("approval-cycle-time", "from=2026-01&to=2026-12", 2),  # per flow + per step (one statement); holders
    ],
)
def test_report_query_counts_are_pinned(dataset, django_assert_num_queries, key, query, expected):
    from django.http import QueryDict

    from payments.reports import registry

    with django_assert_num_queries(expected):
        registry.REPORTS[key].run(QueryDict(query))
