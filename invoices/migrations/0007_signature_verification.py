# Issue 18: signature verification per invoice (docs/invoices.md, "Signatures"); reversible (AddField only).

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('invoices', '0006_consistency_findings'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='invoice',
            name='seller_certificate_matches',
            field=models.BooleanField(blank=True, help_text="Whether the tax code in the seller signature's certificate is the seller's (empty: no certificate).", null=True, verbose_name='signer is the seller'),
        ),
        migrations.AddField(
            model_name='invoice',
            name='seller_certificate_tax_code',
            field=models.CharField(blank=True, max_length=20, verbose_name='signer certificate tax code'),
        ),
        migrations.AddField(
            model_name='invoice',
            name='seller_signature',
            field=models.CharField(choices=[('valid', 'valid'), ('invalid', 'invalid'), ('absent', 'absent'), ('unsupported', 'unsupported'), ('unchecked', 'not checked')], default='unchecked', max_length=12, verbose_name='seller signature'),
        ),
        migrations.AddField(
            model_name='invoice',
            name='signature_details',
            field=models.JSONField(blank=True, default=dict, help_text='Per signature: outcome, reason, certificate subject, serial, validity, tax code, signing time.', verbose_name='signature details'),
        ),
        migrations.AddField(
            model_name='invoice',
            name='signature_override_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='signature override at'),
        ),
        migrations.AddField(
            model_name='invoice',
            name='signature_override_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='signature override by'),
        ),
        migrations.AddField(
            model_name='invoice',
            name='signature_override_reason',
            field=models.TextField(blank=True, verbose_name='signature override reason'),
        ),
        migrations.AddField(
            model_name='invoice',
            name='tax_authority_signature',
            field=models.CharField(choices=[('valid', 'valid'), ('invalid', 'invalid'), ('absent', 'absent'), ('unsupported', 'unsupported'), ('unchecked', 'not checked')], default='unchecked', max_length=12, verbose_name='tax-authority signature'),
        ),
    ]
