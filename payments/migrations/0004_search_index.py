"""Trigram index for the PR search (`payments.selectors.PR_SEARCH_FIELDS`, docs/search.md): the
expression is `acountee.search.SearchDocument(*PR_SEARCH_FIELDS)` written out. Superseded by 0005
(stored document column, indexed)."""

from django.db import migrations

CREATE = r"""
CREATE INDEX IF NOT EXISTS pr_search_trgm ON pr USING gin (acountee_fold(
    COALESCE(name, '') || E'\n' || COALESCE(account_name, '') || E'\n' || COALESCE(payment_reference, '')
) gin_trgm_ops);
"""


class Migration(migrations.Migration):
    dependencies = [
        ("acountee", "0001_search_fold"),
        ("payments", "0003_pr_invoice"),
    ]

    operations = [
        migrations.RunSQL(CREATE, "DROP INDEX IF EXISTS pr_search_trgm;"),
    ]
