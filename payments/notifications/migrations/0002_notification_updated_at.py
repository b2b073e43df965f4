"""`notifications.updated_at` for `?updated_since=` on the inbox (docs/API.md, Syncing a list): added empty, filled
with the row's last known change (read, dismissed or written; the audit trigger records the backfill), then
required."""

from django.db import migrations, models

BACKFILL = "UPDATE notifications SET updated_at = GREATEST(created_at, read_at, dismissed_at) WHERE updated_at IS NULL"


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="notification",
            name="updated_at",
            field=models.DateTimeField(null=True, verbose_name="updated at"),
        ),
        migrations.RunSQL(BACKFILL, reverse_sql=migrations.RunSQL.noop, elidable=False),
        migrations.AlterField(
            model_name="notification",
            name="updated_at",
            field=models.DateTimeField(auto_now=True, verbose_name="updated at"),
        ),
    ]
