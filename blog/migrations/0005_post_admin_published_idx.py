# Built without blocking writes to a big live table (CREATE INDEX CONCURRENTLY), hence not atomic.

import project.operations
from django.db import migrations, models


class Migration(migrations.Migration):

    atomic = False

    dependencies = [
        ('blog', '0004_posttag_listed_since'),
    ]

    operations = [
        project.operations.AddIndexConcurrentlyOnPostgreSQL(
            model_name='post',
            index=models.Index(fields=['published_at', 'id'], name='post_admin_published_idx'),
        ),
    ]
