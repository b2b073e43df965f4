"""Step 2 of 2 of moving the link between a payment request and its chain to the request's side
(payments 0008 copied it into `pr.approval_id`): `approval.pr_id` goes. Reversible: the column comes
back and is filled from `pr.approval_id` before it is made required again."""

import django.db.models.deletion
from django.db import migrations, models

COPY_BACK = "UPDATE approval a SET pr_id = pr.id FROM pr WHERE pr.approval_id = a.id"


class Migration(migrations.Migration):
    dependencies = [
        ("approvals", "0004_custom_chain_and_alternates"),
        ("payments", "0008_pr_owns_its_approval"),
    ]

    operations = [
        # Reversed bottom-up: re-added as nullable, filled, then made required.
        migrations.AlterField(
            model_name="approval",
            name="pr",
            field=models.OneToOneField(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="payments.paymentrequest",
                verbose_name="payment request",
            ),
        ),
        migrations.RunSQL(migrations.RunSQL.noop, reverse_sql=COPY_BACK, elidable=False),
        migrations.RemoveField(model_name="approval", name="pr"),
    ]
