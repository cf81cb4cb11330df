# KilledQuery moved to the querykiller app (project/querykiller/). Its table stays where it is:
# this migration drops the model from the project app's state only, and querykiller's 0001 adds it
# back there with db_table = "project_killedquery".

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("project", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="KilledQuery")],
            database_operations=[],
        ),
    ]
