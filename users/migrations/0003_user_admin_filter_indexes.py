# Built without blocking writes to a big live table (CREATE INDEX CONCURRENTLY), hence not atomic.

import project.operations
from django.db import migrations, models


class Migration(migrations.Migration):

    atomic = False

    dependencies = [
        ('users', '0002_user_search_indexes'),
    ]

    operations = [
        project.operations.AddIndexConcurrentlyOnPostgreSQL(
            model_name='user',
            index=models.Index(condition=models.Q(('is_staff', True)), fields=['-id'], name='user_staff_idx'),
        ),
        project.operations.AddIndexConcurrentlyOnPostgreSQL(
            model_name='user',
            index=models.Index(condition=models.Q(('is_superuser', True)), fields=['-id'], name='user_superuser_idx'),
        ),
        project.operations.AddIndexConcurrentlyOnPostgreSQL(
            model_name='user',
            index=models.Index(condition=models.Q(('is_active', False)), fields=['-id'], name='user_inactive_idx'),
        ),
    ]
