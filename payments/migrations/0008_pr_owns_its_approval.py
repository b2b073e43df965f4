"""The payment request owns its approval chain: the one-to-one link moves from `approval.pr_id` to
`pr.approval_id`, so the approval engine knows nothing of what it approves (docs/adr/0008).

Step 1 of 2: add `pr.approval_id` and copy every existing link into it (the audit trigger records the
copy on each request, which is how a request's history keeps finding its chain). Step 2 drops
`approval.pr_id` (approvals 0005). Reversible: going back copies the links the other way first."""

import django.db.models.deletion
from django.db import migrations, models

COPY_FORWARD = "UPDATE pr SET approval_id = a.id FROM approval a WHERE a.pr_id = pr.id AND pr.approval_id IS DISTINCT FROM a.id"


class Migration(migrations.Migration):
    dependencies = [
        ("approvals", "0004_custom_chain_and_alternates"),
        ("payments", "0007_rejection_on_request"),
    ]

    operations = [
        migrations.AddField(
            model_name="paymentrequest",
            name="approval",
            field=models.OneToOneField(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="pr",
                to="approvals.approval",
                verbose_name="approval chain",
            ),
        ),
        migrations.RunSQL(COPY_FORWARD, reverse_sql=migrations.RunSQL.noop, elidable=False),
    ]
