# The model that project/migrations/0001_initial.py created, taken over with its table
# (project_killedquery): state only, no SQL.

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("project", "0002_killedquery_moves_to_querykiller"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="KilledQuery",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("killed_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("database", models.CharField(help_text="The database alias: default, replica, replica2, ...", max_length=100)),
                        ("server", models.CharField(help_text="host:port/name of the server the statement ran on.", max_length=255)),
                        ("pid", models.IntegerField(verbose_name="backend pid")),
                        ("role", models.CharField(max_length=64)),
                        ("application_name", models.CharField(blank=True, max_length=64)),
                        ("client_address", models.GenericIPAddressField(blank=True, help_text="Empty for a Unix socket.", null=True)),
                        ("duration", models.DurationField(help_text="How long the statement had run when it was stopped.")),
                        ("query", models.TextField(help_text="The statement, truncated to 4000 characters.")),
                        ("action", models.CharField(choices=[("cancelled", "cancelled"), ("terminated", "terminated (cancel was not enough)")], max_length=10)),
                    ],
                    options={
                        "verbose_name": "killed query",
                        "verbose_name_plural": "killed queries",
                        "db_table": "project_killedquery",
                        "ordering": ["-killed_at", "-id"],
                        "indexes": [models.Index(fields=["-killed_at", "-id"], name="killedquery_newest_idx")],
                    },
                ),
            ],
        ),
    ]
