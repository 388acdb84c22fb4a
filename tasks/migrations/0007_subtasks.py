"""Subtasks: Task.parent (NULL: a top-level task; no row rewritten), and its index, built without
blocking writes on PostgreSQL."""

import django.db.models.deletion
from django.db import migrations, models

from todo_project.migration_operations import AddIndexConcurrentlyOnPostgreSQL


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [("tasks", "0006_task_list_index")]

    operations = [
        migrations.AddField(
            model_name="task",
            name="parent",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="subtasks",
                to="tasks.task",
            ),
        ),
        AddIndexConcurrentlyOnPostgreSQL(
            model_name="task",
            index=models.Index(
                condition=models.Q(("parent__isnull", False)), fields=["parent", "id"], name="task_parent_idx"
            ),
        ),
    ]
