"""Writes in bulk for commands: seeding many tasks fast (seed_demo, the benchmark) and deleting users' tasks."""

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any, cast

from django.db import connection, transaction
from django.utils import timezone

from tasks.models import Task
from tasks.services.validation import clean_values


@dataclass(frozen=True)
class TaskDraft:
    """A task to insert in bulk (seeding)."""

    user_id: str
    title: str
    description: str | None = None
    completed: bool = False


def task_bulk_create(
    *, drafts: Iterable[TaskDraft], batch_size: int = 5000, progress: Callable[[int], None] | None = None
) -> int:
    """Insert drafts in batches (validated like task_create); return how many were created.

    On PostgreSQL the rows go through COPY, several times faster than INSERT for large seeds."""
    created = 0
    for batch in _batched(drafts, batch_size):
        now = timezone.now()
        rows = [
            {"user_id": draft.user_id, "created_at": now, "updated_at": now,
             **clean_values({"title": draft.title, "description": draft.description, "completed": draft.completed})}
            for draft in batch
        ]  # fmt: skip
        for row in rows:
            row["completed_at"] = now if row["completed"] else None
        with transaction.atomic():
            if connection.vendor == "postgresql":
                _copy_rows(rows)
            else:
                Task.objects.bulk_create([Task(**row) for row in rows], batch_size=batch_size)
        created += len(rows)
        if progress is not None:
            progress(created)
    return created


def _copy_rows(rows: list[dict[str, Any]]) -> None:
    columns = ["user_id", "title", "description", "completed", "completed_at", "created_at", "updated_at"]
    table = connection.ops.quote_name(Task._meta.db_table)
    # COPY does not apply the model's defaults: every other NOT NULL column gets its default.
    fixed = {
        cast(str, field.column): field.get_default()  # a concrete field has a column
        for field in Task._meta.concrete_fields
        if not field.null and not field.primary_key and field.column not in columns
    }
    with (
        connection.cursor() as cursor,
        cursor.copy(f"COPY {table} ({', '.join([*columns, *fixed])}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row([*(row[column] for column in columns), *fixed.values()])


def task_delete_all(*, user_ids: Iterable[str]) -> int:
    """Delete for good every task of these users (the seed command's --reset)."""
    deleted, _ = Task.objects.filter(user_id__in=list(user_ids)).delete()
    return deleted


def _batched(items: Iterable[TaskDraft], size: int) -> Iterator[list[TaskDraft]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch
