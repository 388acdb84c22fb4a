"""The index of one list's tasks, built without blocking writes on PostgreSQL (CREATE INDEX
CONCURRENTLY, outside a transaction); a plain CREATE INDEX elsewhere."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models
from django.db.migrations.operations import AddIndex


class AddIndexConcurrentlyOnPostgreSQL(AddIndexConcurrently):
    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)
        else:
            AddIndex.database_forwards(self, app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)
        else:
            AddIndex.database_backwards(self, app_label, schema_editor, from_state, to_state)


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
