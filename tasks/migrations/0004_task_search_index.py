"""A full-text index for ?search= on PostgreSQL (SQLite searches without one).

The expression must stay identical to tasks.selectors.SEARCH_VECTOR for the planner to use it;
tests/tasks/test_queries.py checks that it does."""

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector
from django.db import migrations

INDEX = GinIndex(SearchVector("title", "description", config="english"), name="task_search_idx")


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.add_index(apps.get_model("tasks", "Task"), INDEX)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.remove_index(apps.get_model("tasks", "Task"), INDEX)


class Migration(migrations.Migration):
    dependencies = [("tasks", "0003_task_features")]

    operations = [migrations.RunPython(create, drop)]
