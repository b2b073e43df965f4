from django.db import migrations, models
from django.db.models.functions import Now


class Migration(migrations.Migration):
    """When an approver was put on a step (and gives the generic audit test a column to change)."""

    dependencies = [("approvals", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="approvalflowstepuser",
            name="added_at",
            field=models.DateTimeField(auto_now_add=True, db_default=Now(), verbose_name="added at"),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="approvalstepuser",
            name="added_at",
            field=models.DateTimeField(auto_now_add=True, db_default=Now(), verbose_name="added at"),
            preserve_default=False,
        ),
    ]
