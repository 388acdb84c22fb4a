"""The index of one list's tasks, built without blocking writes on PostgreSQL."""

from django.db import migrations, models

from todo_project.migration_operations import AddIndexConcurrentlyOnPostgreSQL


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [("tasks", "0005_lists")]

    operations = [
        AddIndexConcurrentlyOnPostgreSQL(
            model_name="task",
            index=models.Index(
                condition=models.Q(("deleted_at", None)),
                fields=["user_id", "list", "-created_at", "-id"],
                name="task_user_list_live_idx",
            ),
        ),
    ]
