"""Payment controls (docs/controls.md): preparers, the payee frozen at approval request, the
new-payee flag and the un-complete permission.

Existing data is carried forward: every request out of draft gets the payee it pays today
(advanced: its own details; direct: its invoices' account), and every request's preparers are
its maker plus whoever the audit log shows editing it, linking its invoices or requesting it."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from audit.operations import AuditTrigger


FREEZE_PAYEES = """
UPDATE pr SET payee_bank_name = bank_name, payee_bank_account = replace(bank_account, ' ', ''),
       payee_account_name = account_name
 WHERE status <> 'draft' AND type = 'advanced';
UPDATE pr SET payee_bank_name = inv.payment_bank_name, payee_bank_account = inv.account,
       payee_account_name = inv.payment_account_name, payee_tax_code = inv.seller_tax_code
  FROM (SELECT DISTINCT ON (l.pr_id) l.pr_id, i.payment_bank_name, replace(i.payment_bank_account, ' ', '') AS account,
               i.payment_account_name, i.seller_tax_code
          FROM pr_invoice l JOIN invoices i ON i.id = l.invoice_id
         WHERE btrim(i.payment_bank_account) <> ''
         ORDER BY l.pr_id, i.id) AS inv
 WHERE pr.id = inv.pr_id AND pr.status <> 'draft' AND pr.type = 'direct';
-- A submitted request with no account anywhere cannot be paid anyway: marked, never guessed.
UPDATE pr SET payee_bank_account = '?' WHERE status <> 'draft' AND payee_bank_account = '';
"""

BACKFILL_PREPARERS = """
INSERT INTO pr_preparers (pr_id, user_id, first_action, added_at)
SELECT id, maker_id, 'create_pr', created_at FROM pr
ON CONFLICT DO NOTHING;
INSERT INTO pr_preparers (pr_id, user_id, first_action, added_at)
SELECT DISTINCT ON (a.record_id, a.actor_user_id) a.record_id::bigint, a.actor_user_id, a.action, a.occurred_at
  FROM audit a JOIN pr ON pr.id::text = a.record_id JOIN users u ON u.id = a.actor_user_id
 WHERE a.table_name = 'pr'
   AND a.action IN ('update_pr', 'link_invoice', 'unlink_invoice', 'move_invoice', 'request_approval')
 ORDER BY a.record_id, a.actor_user_id, a.id
ON CONFLICT DO NOTHING;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0005_search_document"),
        ("invoices", "0004_payment_details_changed_by"),
        ("audit", "0008_security_event_password_set"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="PaymentRequestPreparer",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("first_action", models.CharField(max_length=64, verbose_name="first action")),
                ("added_at", models.DateTimeField(auto_now_add=True, verbose_name="added at")),
            ],
            options={
                "verbose_name": "preparer",
                "verbose_name_plural": "preparers",
                "db_table": "pr_preparers",
                "ordering": ["pr", "id"],
            },
        ),
        migrations.AlterModelOptions(
            name="paymentrequest",
            options={
                "ordering": ["-id"],
                "permissions": [
                    ("complete_paymentrequest", "Can complete payment requests"),
                    ("uncomplete_paymentrequest", "Can un-complete payment requests (reverse a recorded payment)"),
                ],
                "verbose_name": "payment request",
                "verbose_name_plural": "payment requests",
            },
        ),
        migrations.AddField(
            model_name="paymentrequest",
            name="payee_account_name",
            field=models.CharField(blank=True, max_length=200, verbose_name="payee account holder"),
        ),
        migrations.AddField(
            model_name="paymentrequest",
            name="payee_bank_account",
            field=models.CharField(blank=True, max_length=64, verbose_name="payee bank account"),
        ),
        migrations.AddField(
            model_name="paymentrequest",
            name="payee_bank_name",
            field=models.CharField(blank=True, max_length=200, verbose_name="payee bank"),
        ),
        migrations.AddField(
            model_name="paymentrequest",
            name="payee_is_new",
            field=models.BooleanField(default=False, verbose_name="new payee account"),
        ),
        migrations.AddField(
            model_name="paymentrequest",
            name="payee_tax_code",
            field=models.CharField(blank=True, max_length=32, verbose_name="payee tax code"),
        ),
        migrations.AddField(
            model_name="paymentrequest",
            name="previous_account_name",
            field=models.CharField(blank=True, max_length=200, verbose_name="previously paid account holder"),
        ),
        migrations.AddField(
            model_name="paymentrequest",
            name="previous_bank_account",
            field=models.CharField(blank=True, max_length=64, verbose_name="previously paid bank account"),
        ),
        migrations.AddField(
            model_name="paymentrequest",
            name="previous_bank_name",
            field=models.CharField(blank=True, max_length=200, verbose_name="previously paid bank"),
        ),
        migrations.RunSQL(FREEZE_PAYEES, migrations.RunSQL.noop),
        migrations.AddConstraint(
            model_name="paymentrequest",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("status", "draft"), models.Q(("payee_bank_account", ""), _negated=True), _connector="OR"
                ),
                name="pr_payee_frozen_out_of_draft",
            ),
        ),
        migrations.AddField(
            model_name="paymentrequestpreparer",
            name="pr",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="preparers",
                to="payments.paymentrequest",
                verbose_name="payment request",
            ),
        ),
        migrations.AddField(
            model_name="paymentrequestpreparer",
            name="user",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="preparer",
            ),
        ),
        migrations.AddIndex(
            model_name="paymentrequestpreparer",
            index=models.Index(fields=["user", "pr"], name="pr_preparers_user_idx"),
        ),
        migrations.AddConstraint(
            model_name="paymentrequestpreparer",
            constraint=models.UniqueConstraint(fields=("pr", "user"), name="pr_preparers_pr_user_unique"),
        ),
        AuditTrigger("pr_preparers"),
        migrations.RunSQL(BACKFILL_PREPARERS, migrations.RunSQL.noop),
    ]
