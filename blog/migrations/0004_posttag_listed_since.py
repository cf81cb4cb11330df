# Written by hand: add PostTag.listed_since, fill it in batches (each commits on its own, so a big
# live table is never locked or rewritten in one transaction), then build the tag page's index
# without blocking writes. Hence not atomic.

import project.operations
from django.db import migrations, models

BATCH = 100_000  # posts per UPDATE


def fill_listed_since(apps, schema_editor):
    Post = apps.get_model('blog', 'Post')
    PostTag = apps.get_model('blog', 'PostTag')
    last = Post.objects.order_by('-pk').values_list('pk', flat=True).first() or 0
    listed = Post.objects.filter(pk=models.OuterRef('post_id'), status='published').values('published_at')[:1]
    for start in range(0, last + 1, BATCH):
        PostTag.objects.filter(post_id__gte=start, post_id__lt=start + BATCH).update(
            listed_since=models.Subquery(listed)
        )


class Migration(migrations.Migration):

    atomic = False

    dependencies = [
        ('blog', '0003_posttag_through_model'),
    ]

    operations = [
        migrations.AddField(
            model_name='posttag',
            name='listed_since',
            field=models.DateTimeField(editable=False, null=True),
        ),
        migrations.RunPython(fill_listed_since, migrations.RunPython.noop, elidable=True),
        project.operations.AddIndexConcurrentlyOnPostgreSQL(
            model_name='posttag',
            index=models.Index(condition=models.Q(('listed_since__isnull', False)), fields=['tag', '-listed_since', '-post'], name='posttag_listed_idx'),
        ),
        project.operations.AddIndexConcurrentlyOnPostgreSQL(
            model_name='posttag',
            index=models.Index(condition=models.Q(('listed_since__isnull', False)), fields=['tag', '-post'], name='posttag_listed_post_idx'),
        ),
    ]
