"""The PR search document becomes a stored generated column with its trigram index (replacing
0004's expression index), as for invoices (invoices 0003); the audit trigger leaves it out."""

import django.contrib.postgres.indexes
from django.db import migrations, models

import acountee.search
from audit.operations import trigger_sql

OLD_INDEX = r"""
CREATE INDEX IF NOT EXISTS pr_search_trgm ON pr USING gin (acountee_fold(
    COALESCE(name, '') || E'\n' || COALESCE(account_name, '') || E'\n' || COALESCE(payment_reference, '')
) gin_trgm_ops);
"""


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0004_search_index"),
    ]

    operations = [
        migrations.RunSQL("DROP INDEX IF EXISTS pr_search_trgm;", OLD_INDEX),
        migrations.AddField(
            model_name="paymentrequest",
            name="search_document",
            field=models.GeneratedField(
                db_persist=True,
                expression=acountee.search.SearchDocument("name", "account_name", "payment_reference"),
                output_field=models.TextField(),
                verbose_name="search text",
            ),
        ),
        migrations.AddIndex(
            model_name="paymentrequest",
            index=django.contrib.postgres.indexes.GinIndex(
                fields=["search_document"], name="pr_search_document_trgm", opclasses=["gin_trgm_ops"]
            ),
        ),
        migrations.RunSQL(trigger_sql("pr", ("search_document",)), trigger_sql("pr")),
    ]
