"""The last rejection on the payment request itself (reason, when, by whom), instead of read
back out of the audit log's metadata.

Existing data is carried forward: a request in draft whose latest `reject`/`request_approval`
audit entry is a `reject` gets that entry's reason, time and actor — exactly what its admin page
showed until now. Reversible: going back drops the columns (the audit log still holds every
rejection)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

FILL_FROM_AUDIT = """
UPDATE pr SET rejection_reason = COALESCE(last.metadata ->> 'reason', ''),
       rejected_at = last.occurred_at,
       rejected_by_id = u.id
  FROM (SELECT DISTINCT ON (record_id) record_id, action, metadata, occurred_at, actor_user_id
          FROM audit
         WHERE table_name = 'pr' AND action IN ('reject', 'request_approval')
         ORDER BY record_id, id DESC) AS last
  LEFT JOIN users u ON u.id = last.actor_user_id
 WHERE pr.id::text = last.record_id AND last.action = 'reject' AND pr.status = 'draft';
"""


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0006_payment_controls"),
        ("audit", "0010_keyed_seals"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="paymentrequest",
            name="rejection_reason",
            field=models.TextField(blank=True, db_default="", default="", verbose_name="rejection reason"),
        ),
        migrations.AddField(
            model_name="paymentrequest",
            name="rejected_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="rejected at"),
        ),
        migrations.AddField(
            model_name="paymentrequest",
            name="rejected_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="rejected by",
            ),
        ),
        migrations.RunSQL(FILL_FROM_AUDIT, migrations.RunSQL.noop),
    ]
