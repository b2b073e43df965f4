"""Admin pages: one per report (chart + table + downloads), the Reports index, the admin home block."""

from __future__ import annotations

import pytest
from django.test import Client

from payments.reports.registry import REPORTS
from tests.reports.factories import invoice

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_admin(owner) -> Client:
    client = Client()
    client.force_login(owner)
    return client


@pytest.fixture
def outsider_admin(outsider) -> Client:
    client = Client()
    client.force_login(outsider)
    return client


def test_reports_index_lists_every_report(owner_admin):
    response = owner_admin.get("/admin/reports/report/")
    assert response.status_code == 200
    for key in REPORTS:
        assert f"/admin/reports/report/{key}/" in response.content.decode()


@pytest.mark.parametrize("key", list(REPORTS))
def test_report_page_has_chart_and_table(owner_admin, dataset, key):
    response = owner_admin.get(f"/admin/reports/report/{key}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<svg" in html and 'class="report-table"' in html
    assert "format=csv" in html and "format=xlsx" in html


def test_report_page_figures(owner_admin, dataset):
    html = owner_admin.get("/admin/reports/report/payables-by-supplier/?top=2").content.decode()
    assert "9500000" in html.replace(",", "").replace(".", "") and "0100000002" in html
    assert "0100000003" not in html  # top 2


def test_report_page_download(owner_admin, dataset):
    response = owner_admin.get("/admin/reports/report/aging/?as_of=2026-12-01&format=csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "9000000.00" in response.content.decode("utf-8-sig")


def test_report_page_bad_parameter_shows_error(owner_admin, dataset):
    response = owner_admin.get("/admin/reports/report/payables-by-supplier/?top=1000")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="report-table"' not in html
    assert "top: Expected a whole number from 1 to 100." in html


def test_unknown_report_is_404(owner_admin):
    assert owner_admin.get("/admin/reports/report/nothing/").status_code == 404


def test_refused_without_permission(outsider_admin):
    assert outsider_admin.get("/admin/reports/report/").status_code == 403
    assert outsider_admin.get("/admin/reports/report/aging/").status_code == 403
    assert outsider_admin.get("/admin/reports/report/aging/?format=csv").status_code == 403


def test_labels_are_escaped(owner_admin):
    invoice(seller="0108888888", name="<script>alert(1)</script>", issued="2026-11-01", total="5")
    html = owner_admin.get("/admin/reports/report/payables-by-supplier/").content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_admin_home_block(owner_admin, outsider_admin, dataset):
    html = owner_admin.get("/admin/").content.decode()
    assert 'id="reports-home"' in html
    assert f"/admin/payments/paymentrequest/{dataset.prs['pending'].pk}/change/" in html
    assert 'id="reports-home"' not in outsider_admin.get("/admin/").content.decode()


def test_report_parameters_are_labelled_in_vietnamese_with_pickers(owner, dataset):
    from accounts.models import User

    User.objects.filter(pk=owner.pk).update(language="vi")
    client = Client()
    client.force_login(User.objects.get(pk=owner.pk))
    html = client.get("/admin/reports/report/payables-by-month/?from=2026-10&to=2026-11").content.decode()
    form = html.split('class="report-params"')[1].split("</form>")[0]
    assert "Từ tháng" in form and 'type="month" name="from" value="2026-10"' in form
    assert ">from <" not in form and "YYYY" not in form
    aging = client.get("/admin/reports/report/aging/").content.decode().split('class="report-params"')[1]
    assert 'type="date" name="as_of"' in aging.split("</form>")[0]
