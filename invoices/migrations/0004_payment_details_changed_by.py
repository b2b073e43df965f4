"""Who changed an invoice's payment details by hand: they become preparers of the request that
pays it (docs/controls.md, PREPARER-NEVER-APPROVES). NULL (nobody) for every existing invoice:
the audit log keeps who changed what before this column existed."""

import django.contrib.postgres.fields
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("invoices", "0003_search_document"),
    ]

    operations = [
        migrations.AddField(
            model_name="invoice",
            name="payment_details_changed_by",
            field=django.contrib.postgres.fields.ArrayField(
                base_field=models.BigIntegerField(),
                blank=True,
                null=True,
                size=None,
                verbose_name="payment details changed by",
            ),
        ),
    ]
