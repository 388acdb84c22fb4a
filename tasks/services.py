"""Writes of tasks. Every interface (REST views, the chat agent's tools, commands) calls these,
so ownership, validation and timestamps are decided here once."""

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any

from django.core.exceptions import EmptyResultSet, ValidationError
from django.db import connection, transaction
from django.db.models import F
from django.db.models.sql.subqueries import DeleteQuery, UpdateQuery
from django.utils import timezone

from tasks.exceptions import TaskNotFound
from tasks.models import Task
from tasks.selectors import task_get

EDITABLE_FIELDS = ("title", "description", "completed")


@dataclass(frozen=True)
class TaskDraft:
    """A task to insert in bulk (seeding, imports)."""

    user_id: str
    title: str
    description: str | None = None
    completed: bool = False


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    """Validate values with the model's own field rules; raise ValidationError per field."""
    unknown = set(values) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"Not editable task fields: {', '.join(sorted(unknown))}")
    cleaned, errors = {}, {}
    for name, value in values.items():
        if isinstance(value, str):
            value = value.strip()
        try:
            cleaned[name] = Task._meta.get_field(name).clean(value, None)
        except ValidationError as exc:
            errors[name] = exc.messages
    if errors:
        raise ValidationError(errors)
    return cleaned


def task_create(*, user_id: str, title: str, description: str | None = None, completed: bool = False) -> Task:
    values = _clean({"title": title, "description": description, "completed": completed})
    now = timezone.now()
    return Task.objects.create(user_id=user_id, created_at=now, updated_at=now, **values)


def task_update(*, user_id: str, task_id: int, **changes: Any) -> Task:
    """Change any subset of title, description and completed; a missing field stays as it is."""
    values = _clean(changes)
    if not values:
        return task_get(user_id=user_id, task_id=task_id)
    return _update_returning(user_id=user_id, task_id=task_id, **values)


def task_toggle(*, user_id: str, task_id: int) -> Task:
    """Flip `completed` in one UPDATE, so concurrent toggles never lose one another."""
    return _update_returning(user_id=user_id, task_id=task_id, completed=~F("completed"))


def task_delete(*, user_id: str, task_id: int) -> Task:
    """Delete the task and return it as it was (callers confirm what they deleted)."""
    return _returning(Task.objects.filter(pk=task_id, user_id=user_id).query.chain(DeleteQuery), task_id)


def _update_returning(*, user_id: str, task_id: int, **values: Any) -> Task:
    query = Task.objects.filter(pk=task_id, user_id=user_id).query.chain(UpdateQuery)
    query.add_update_values({"updated_at": timezone.now(), **values})
    return _returning(query, task_id)


def _returning(query: UpdateQuery | DeleteQuery, task_id: int) -> Task:
    """Run the ORM's UPDATE or DELETE with RETURNING: one statement, one round trip, atomic by itself,
    and the row it answers is the one this statement wrote (PostgreSQL and SQLite ≥ 3.35)."""
    try:
        sql, params = query.get_compiler(connection=connection).as_sql()
    except EmptyResultSet:  # e.g. an id beyond the integer range: no such task
        raise TaskNotFound(task_id) from None
    columns = ", ".join(connection.ops.quote_name(field.column) for field in Task._meta.concrete_fields)
    rows = list(Task.objects.raw(f"{sql} RETURNING {columns}", params))
    if not rows:
        raise TaskNotFound(task_id)
    return rows[0]


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
             **_clean({"title": draft.title, "description": draft.description, "completed": draft.completed})}
            for draft in batch
        ]  # fmt: skip
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
    columns = ["user_id", "title", "description", "completed", "created_at", "updated_at"]
    table = connection.ops.quote_name(Task._meta.db_table)
    with connection.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row[column] for column in columns])


def task_delete_all(*, user_ids: Iterable[str]) -> int:
    """Delete every task of these users (the seed command's --reset)."""
    deleted, _ = Task.objects.filter(user_id__in=list(user_ids)).delete()
    return deleted


def _batched(items: Iterable[TaskDraft], size: int) -> Iterator[list[TaskDraft]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch
