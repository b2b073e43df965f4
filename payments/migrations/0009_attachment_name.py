"""Each attachment keeps the name it was attached under (the file store keeps one row per content, named
after its first upload); existing attachments take their file's name."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('payments', '0008_pr_owns_its_approval'),
    ]

    operations = [
        migrations.AddField(
            model_name='prattachment',
            name='name',
            field=models.CharField(blank=True, default='', max_length=255, verbose_name='name'),
        ),
        migrations.RunSQL(
            "UPDATE pr_attachments a SET name = f.original_name FROM files f WHERE f.id = a.file_id AND a.name = ''",
            reverse_sql=migrations.RunSQL.noop,
            elidable=False,
        ),
    ]
