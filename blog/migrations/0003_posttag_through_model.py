# Written by hand: the many-to-many field's table becomes an explicit through model, PostTag, so it
# can carry each post's listed_since (0004). Nothing changes in the database here: PostTag names
# the table, columns and unique constraint Django created for the plain field.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('blog', '0002_post_indexes_for_hot_queries'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='PostTag',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('post', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='tag_links', to='blog.post')),
                        ('tag', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='post_links', to='blog.tag')),
                    ],
                    options={
                        'db_table': 'blog_post_tags',
                        'unique_together': {('post', 'tag')},
                    },
                ),
                migrations.AlterField(
                    model_name='post',
                    name='tags',
                    field=models.ManyToManyField(blank=True, related_name='posts', through='blog.PostTag', to='blog.tag'),
                ),
            ],
        ),
    ]
