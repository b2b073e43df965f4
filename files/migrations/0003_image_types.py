"""Images are a file type of their own (PNG, JPEG, WebP: photos of receipts and transfer slips), detected
from their signature bytes like the others; files stored before as `application/octet-stream` whose bytes
start with an image signature are re-typed (only the first 12 bytes are read). Reverse: back to
octet-stream."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('files', '0002_base_manager_defers_content'),
    ]

    operations = [
        migrations.RunSQL(
            """
            UPDATE files SET content_type = CASE
                WHEN substring(content FROM 1 FOR 8) = '\\x89504e470d0a1a0a'::bytea THEN 'image/png'
                WHEN substring(content FROM 1 FOR 3) = '\\xffd8ff'::bytea THEN 'image/jpeg'
                ELSE 'image/webp' END
            WHERE content_type = 'application/octet-stream' AND (
                substring(content FROM 1 FOR 8) = '\\x89504e470d0a1a0a'::bytea
                OR substring(content FROM 1 FOR 3) = '\\xffd8ff'::bytea
                OR (substring(content FROM 1 FOR 4) = '\\x52494646'::bytea
                    AND substring(content FROM 9 FOR 4) = '\\x57454250'::bytea))
            """,
            reverse_sql="UPDATE files SET content_type = 'application/octet-stream'"
            " WHERE content_type IN ('image/png', 'image/jpeg', 'image/webp')",
            elidable=False,
        ),
        migrations.AlterField(
            model_name='storedfile',
            name='content_type',
            field=models.CharField(choices=[('application/xml', 'XML document'), ('application/pdf', 'PDF document'), ('application/zip', 'ZIP archive'), ('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', 'Excel workbook (XLSX)'), ('application/vnd.ms-excel', 'Excel 97-2003 workbook (XLS)'), ('image/png', 'PNG image'), ('image/jpeg', 'JPEG image'), ('image/webp', 'WebP image'), ('application/octet-stream', 'Other (binary)')], default='application/octet-stream', editable=False, max_length=100, verbose_name='content type'),
        ),
    ]
