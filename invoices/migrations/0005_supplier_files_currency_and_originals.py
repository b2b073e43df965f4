"""Issue 18: the currency as written, and how a correction's original was found (docs/invoices.md).

Corrections already stored get the lookup outcome their link says (linked, or waiting for the
original); going back drops the columns.
"""

from django.db import migrations, models

BACKFILL = """
UPDATE invoices SET related_match = CASE WHEN original_id IS NOT NULL THEN 'linked' ELSE 'not_found' END
WHERE related_kind IS NOT NULL AND related_number_int IS NOT NULL
"""


class Migration(migrations.Migration):

    dependencies = [
        ('invoices', '0004_payment_details_changed_by'),
    ]

    operations = [
        migrations.AddField(
            model_name='invoice',
            name='currency_as_written',
            field=models.CharField(blank=True, help_text='DVTTe as the file writes it', max_length=20, verbose_name='currency (as written)'),
        ),
        migrations.AddField(
            model_name='invoice',
            name='related_from_line_text',
            field=models.BooleanField(default=False, help_text="The file has no related-invoice block: the original was read from a line's text.", verbose_name="original named in a line's text"),
        ),
        migrations.AddField(
            model_name='invoice',
            name='related_match',
            field=models.CharField(blank=True, choices=[('linked', 'linked to its original'), ('not_found', 'original not imported yet'), ('ambiguous', 'several invoices match the original')], max_length=16, verbose_name='original lookup'),
        ),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
    ]
