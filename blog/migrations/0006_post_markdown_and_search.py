"""Store each post's and comment's Markdown rendered as HTML, index posts for search, and index an
author's own posts for the dashboard (replacing the plain author index it starts with).

The back-fill renders existing rows in batches by primary key, each batch its own transaction
(the migration is not atomic), so a table of millions is never locked or held in one transaction.
"""

import django.contrib.postgres.search
import django.db.models.deletion
import project.models
from django.conf import settings
from django.db import migrations, models, transaction

from blog.markdown import excerpt_from_html, render_markdown

BATCH = 2000


def render_stored_markdown(apps, schema_editor):
    alias = schema_editor.connection.alias
    for model, fields in ((apps.get_model("blog", "Post"), ("body_html", "excerpt")), (apps.get_model("blog", "Comment"), ("body_html",))):
        last = 0
        while True:
            rows = list(model.objects.using(alias).filter(pk__gt=last).order_by("pk").only("pk", "body")[:BATCH])
            if not rows:
                break
            for row in rows:
                row.body_html = render_markdown(row.body)
                if "excerpt" in fields:
                    row.excerpt = excerpt_from_html(row.body_html)
            with transaction.atomic(using=alias):
                model.objects.using(alias).bulk_update(rows, fields, batch_size=500)
            last = rows[-1].pk


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("blog", "0005_post_admin_published_idx"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='comment',
            name='body_html',
            field=models.TextField(blank=True, db_default='', editable=False),
        ),
        migrations.AddField(
            model_name='post',
            name='body_html',
            field=models.TextField(blank=True, db_default='', editable=False),
        ),
        migrations.AddField(
            model_name='post',
            name='excerpt',
            field=models.CharField(blank=True, db_default='', editable=False, max_length=300),
        ),
        migrations.AlterField(
            model_name='comment',
            name='body',
            field=models.TextField(help_text='Markdown.', max_length=5000),
        ),
        migrations.AddIndex(
            model_name='post',
            index=models.Index(fields=['author', '-id'], name='post_author_id_idx'),
        ),
        migrations.AlterField(
            model_name='post',
            name='author',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='posts', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AlterField(
            model_name='post',
            name='body',
            field=models.TextField(help_text='Markdown.'),
        ),
        migrations.AddIndex(
            model_name='post',
            index=project.models.SearchVectorIndex(django.contrib.postgres.search.CombinedSearchVector(django.contrib.postgres.search.SearchVector('title', config='english', weight='A'), '||', django.contrib.postgres.search.SearchVector('body', config='english', weight='B'), django.contrib.postgres.search.SearchConfig('english')), name='post_search_idx'),
        ),
        migrations.RunPython(render_stored_markdown, migrations.RunPython.noop, elidable=True),
    ]
