"""The invoice search document becomes a stored generated column with its trigram index
(replacing 0002's expression index): a search then rechecks plain stored text instead of folding
each candidate row once per term (docs/search.md has the figures). The column is derived data,
so the audit trigger leaves it out."""

import django.contrib.postgres.indexes
from django.db import migrations, models

import acountee.search
from audit.operations import trigger_sql

OLD_INDEX = r"""
CREATE INDEX IF NOT EXISTS invoices_search_trgm ON invoices USING gin (acountee_fold(
    COALESCE(seller_name, '') || E'\n' || COALESCE(seller_tax_code, '') || E'\n' || COALESCE(series, '')
    || E'\n' || COALESCE(number, '') || E'\n' || COALESCE(tax_authority_code, '')
) gin_trgm_ops);
"""


class Migration(migrations.Migration):
    dependencies = [
        ("invoices", "0002_search_index"),
    ]

    operations = [
        migrations.RunSQL("DROP INDEX IF EXISTS invoices_search_trgm;", OLD_INDEX),
        migrations.AddField(
            model_name="invoice",
            name="search_document",
            field=models.GeneratedField(
                db_persist=True,
                expression=acountee.search.SearchDocument(
                    "seller_name", "seller_tax_code", "series", "number", "tax_authority_code"
                ),
                output_field=models.TextField(),
                verbose_name="search text",
            ),
        ),
        migrations.AddIndex(
            model_name="invoice",
            index=django.contrib.postgres.indexes.GinIndex(
                fields=["search_document"], name="invoices_search_document_trgm", opclasses=["gin_trgm_ops"]
            ),
        ),
        migrations.RunSQL(trigger_sql("invoices", ("search_document",)), trigger_sql("invoices")),
    ]
