"""The index of one list's tasks, newest first (the Inbox's, without a list, as list 0: see
tasks.selectors.LIST_KEY), built without blocking writes on PostgreSQL."""

from django.db import migrations, models
from django.db.models.functions import Coalesce

from todo_project.migration_operations import AddIndexConcurrentlyOnPostgreSQL


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [("tasks", "0005_lists")]

    operations = [
        AddIndexConcurrentlyOnPostgreSQL(
            model_name="task",
            index=models.Index(
                models.F("user_id"),
                Coalesce("list", 0, output_field=models.BigIntegerField()),
                models.OrderBy(models.F("created_at"), descending=True),
                models.OrderBy(models.F("id"), descending=True),
                condition=models.Q(("deleted_at", None)),
                name="task_user_list_live_idx",
            ),
        ),
    ]
