"""The trigram indexes serve the searches (the query expression is the indexed one), and the
migrations that install the extensions, acountee_fold() and the indexes are reversible."""

from __future__ import annotations

import pytest
from django.contrib.admin.sites import site
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import RequestFactory

from acountee.db.roles import owner_connection
from acountee.search import search_filter
from invoices.models import Invoice
from invoices.selectors import invoice_list
from payments.models import PaymentRequest
from payments.selectors import PR_SEARCH_FIELDS

pytestmark = pytest.mark.django_db


def plan(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        # Tiny test tables would be scanned (or walked in date order); forbidding both leaves the
        # bitmap scan, which shows whether the trigram index *can* serve the query.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_invoice_api_search_uses_the_trigram_index():
    assert "invoices_search_document_trgm" in plan(invoice_list(filters={"q": "cong ty sao mai"}))


def test_invoice_admin_search_uses_the_trigram_index(finance):
    request = RequestFactory().get("/admin/invoices/invoice/", {"q": "cong ty sao mai"})
    request.user = finance
    admin = site._registry[Invoice]
    queryset, _duplicates = admin.get_search_results(request, admin.get_queryset(request), "cong ty sao mai")
    assert "invoices_search_document_trgm" in plan(queryset)


def test_pr_search_uses_the_trigram_index():
    queryset = search_filter(PaymentRequest.objects.all(), "tien dien", PR_SEARCH_FIELDS, document="search_document")
    assert "pr_search_document_trgm" in plan(queryset)


def _exists(sql: str, params: list[str]) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def _installed() -> dict[str, bool]:
    return {
        "fold": _exists("SELECT EXISTS (SELECT 1 FROM pg_proc WHERE proname = %s)", ["acountee_fold"]),
        "unaccent": _exists("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = %s)", ["unaccent"]),
        "pg_trgm": _exists("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = %s)", ["pg_trgm"]),
        "invoices_search_document_trgm": _exists(
            "SELECT to_regclass(%s) IS NOT NULL", ["invoices_search_document_trgm"]
        ),
        "pr_search_document_trgm": _exists("SELECT to_regclass(%s) IS NOT NULL", ["pr_search_document_trgm"]),
    }


@pytest.mark.django_db(transaction=True)
def test_migrations_are_reversible():
    """Unapply acountee.0001 (and with it the index migrations that depend on it), then apply
    everything again — as the owner role, whose job migrations are (the app's role may not
    alter tables); committed, so the schema ends as it began."""
    with owner_connection(connection):
        executor = MigrationExecutor(connection)
        leaves = executor.loader.graph.leaf_nodes()
        assert all(_installed().values())
        executor.migrate([("acountee", None)])
        assert not any(_installed().values())
        executor.loader.build_graph()
        executor.migrate(leaves)
        assert all(_installed().values())


def test_stored_document_follows_the_row_and_stays_out_of_the_audit(finance):
    from audit.models import AuditEntry
    from tests.payments.factories import make_invoice

    invoice = make_invoice(seller_name="Công ty Điện lực")
    assert Invoice.objects.get(pk=invoice.pk).search_document.startswith("cong ty dien luc\n")
    Invoice.objects.filter(pk=invoice.pk).update(seller_name="CÔNG TY TNHH DỊCH VỤ KỸ THUẬT SAO MAI")
    assert list(invoice_list(filters={"q": "cong ty sao mai"})) == [Invoice.objects.get(pk=invoice.pk)]
    assert not invoice_list(filters={"q": "dien luc"}).exists()
    entries = AuditEntry.objects.filter(table_name="invoices", record_id=str(invoice.pk))
    assert entries.count() == 2
    for entry in entries:
        assert "search_document" not in (entry.before or {}) and "search_document" not in (entry.after or {})
