"""Trigram index for the invoice search (`invoices.selectors.INVOICE_SEARCH_FIELDS`, docs/search.md).

The expression is `acountee.search.SearchDocument(*INVOICE_SEARCH_FIELDS)` written out.
Superseded by 0003, which stores the document in a column and indexes that instead.
"""

from django.db import migrations

CREATE = r"""
CREATE INDEX IF NOT EXISTS invoices_search_trgm ON invoices USING gin (acountee_fold(
    COALESCE(seller_name, '') || E'\n' || COALESCE(seller_tax_code, '') || E'\n' || COALESCE(series, '')
    || E'\n' || COALESCE(number, '') || E'\n' || COALESCE(tax_authority_code, '')
) gin_trgm_ops);
"""


class Migration(migrations.Migration):
    dependencies = [
        ("acountee", "0001_search_fold"),
        ("invoices", "0001_initial"),
    ]

    operations = [
        migrations.RunSQL(CREATE, "DROP INDEX IF EXISTS invoices_search_trgm;"),
    ]
