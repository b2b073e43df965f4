# Issue 18: where the lines, the per-rate summary and the header disagree (docs/invoices.md); reversible.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('invoices', '0005_supplier_files_currency_and_originals'),
    ]

    operations = [
        migrations.AddField(
            model_name='invoice',
            name='consistency_findings',
            field=models.JSONField(blank=True, default=list, verbose_name='consistency findings'),
        ),
    ]
