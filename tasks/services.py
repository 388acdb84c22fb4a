"""Writes of tasks. Every interface (REST views, the chat agent's tools, commands) calls these,
so ownership, validation and timestamps are decided here once."""

import hashlib
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice
from typing import TYPE_CHECKING, Any, Literal, cast
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import EmptyResultSet, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, F, Field, Q, Value, When
from django.db.models.sql.subqueries import UpdateQuery
from django.utils import timezone

from tasks.exceptions import BulkInvalid, IdempotencyKeyReused, TaskChanged, TaskNotFound
from tasks.models import PRIORITIES, IdempotencyKey, Tag, Task
from tasks.recurrence import RecurrenceError, next_occurrence, normalize_rule
from tasks.selectors import tag_get, tag_names_sql, task_exists, task_get, task_many

if TYPE_CHECKING:
    from tasks.selectors import TaggedTask

EDITABLE_FIELDS = ("title", "description", "completed", "priority", "tags", "due_at", "recurrence", "position")
MAX_TAGS_PER_TASK = 20
UTC = ZoneInfo("UTC")
BulkAction = Literal["complete", "reopen", "delete", "restore", "tag", "untag"]


@dataclass(frozen=True)
class TaskDraft:
    """A task to insert in bulk (seeding)."""

    user_id: str
    title: str
    description: str | None = None
    completed: bool = False


# Validation ------------------------------------------------------------------------------------


def clean_tag_name(name: object) -> str:
    """Tag names are trimmed, lowercase, single-spaced; no commas, slashes or '#' (they separate tags
    in CSV, URLs and chat)."""
    if not isinstance(name, str):
        raise ValidationError("A tag name must be a string.")
    cleaned = " ".join(name.split()).lower()
    if not cleaned:
        raise ValidationError("A tag name cannot be blank.")
    if len(cleaned) > cast(int, Tag._meta.get_field("name").max_length):  # max_length=50
        raise ValidationError("A tag name has at most 50 characters.")
    if any(char in cleaned for char in ",/#\x00"):
        raise ValidationError("A tag name cannot contain ',', '/' or '#'.")
    return cleaned


def _clean_tags(value: object) -> list[str]:
    if not isinstance(value, list | tuple):
        raise ValidationError("Must be a list of tag names.")
    names = sorted({clean_tag_name(name) for name in value})
    if len(names) > MAX_TAGS_PER_TASK:
        raise ValidationError(f"At most {MAX_TAGS_PER_TASK} tags per task.")
    return names


def _clean_value(name: str, value: Any) -> Any:
    if name == "priority":
        if value not in PRIORITIES:
            raise ValidationError(f"Must be one of {', '.join(PRIORITIES)}.")
        return PRIORITIES[value]
    if name == "tags":
        return _clean_tags(value)
    if name == "due_at" and value is not None:
        if not isinstance(value, datetime) or timezone.is_naive(value):
            raise ValidationError("Must be a date and time with a time zone offset, e.g. 2026-12-01T09:00:00Z.")
        return value
    if name == "recurrence" and value is not None:
        try:
            return normalize_rule(value) if isinstance(value, str) else normalize_rule("")
        except RecurrenceError as exc:
            raise ValidationError(str(exc)) from None
    if isinstance(value, str):
        value = value.strip()
    field = cast(Field, Task._meta.get_field(name))  # an EDITABLE_FIELDS name: a model field, no reverse relation
    return field.clean(value, None)


def _clean(values: Mapping[str, Any]) -> dict[str, Any]:
    """Validate values with the model's own field rules; raise ValidationError per field."""
    unknown = set(values) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"Not editable task fields: {', '.join(sorted(unknown))}")
    cleaned, errors = {}, {}
    for name, value in values.items():
        try:
            cleaned[name] = _clean_value(name, value)
        except ValidationError as exc:
            errors[name] = exc.messages
    if errors:
        raise ValidationError(errors)
    return cleaned


def _require_due_for_recurrence(values: Mapping[str, Any], current_due: datetime | None = None) -> None:
    due = values.get("due_at", current_due)
    if values.get("recurrence") and due is None:
        raise ValidationError({"recurrence": ["A repeating task needs a due_at to repeat from."]})


# Single tasks ----------------------------------------------------------------------------------


def task_create(
    *,
    user_id: str,
    title: str,
    description: str | None = None,
    completed: bool = False,
    priority: str = "none",
    tags: Sequence[str] = (),
    due_at: datetime | None = None,
    recurrence: str | None = None,
    position: int = 0,
) -> Task:
    """Create a task: one INSERT (plus the tag links when it has tags)."""
    values = _clean(
        {"title": title, "description": description, "completed": completed, "priority": priority,
         "tags": list(tags), "due_at": due_at, "recurrence": recurrence, "position": position}
    )  # fmt: skip
    _require_due_for_recurrence(values)
    names = values.pop("tags")
    now = timezone.now()
    with transaction.atomic() if names else nullcontext():
        task = Task.objects.create(
            user_id=user_id, created_at=now, updated_at=now, completed_at=now if values["completed"] else None, **values
        )
        if names:
            _link_tags(user_id=user_id, task_ids=[task.id], names=names)
    cast("TaggedTask", task).tag_names = names
    return task


def task_update(
    *,
    user_id: str,
    task_id: int,
    if_match: Collection[datetime] | None = None,
    zone: ZoneInfo = UTC,
    **changes: Any,
) -> Task:
    """Change any subset of the editable fields; a missing field stays as it is.

    `if_match`: the versions (updated_at) the caller knows; another current version is TaskChanged.
    Completing a repeating task moves it to its next occurrence (see `_completion`)."""
    values = _clean(changes)
    names = values.pop("tags", None)
    if not values and names is None:
        task = task_get(user_id=user_id, task_id=task_id)
        if if_match is not None and task.updated_at not in if_match:
            raise TaskChanged(task_id)
        return task
    needs_current = (values.get("recurrence") and "due_at" not in values) or (
        "due_at" in values and values["due_at"] is None and "recurrence" not in values
    )
    now = timezone.now()
    with transaction.atomic() if names is not None else nullcontext():
        if needs_current or (values.get("completed") is True and "recurrence" in values):
            task = _locked_update(
                user_id=user_id, task_id=task_id, now=now, if_match=if_match, zone=zone, values=values
            )
        elif values:
            task = _update_or_complete(
                user_id=user_id, task_id=task_id, now=now, if_match=if_match, zone=zone, values=values
            )
        else:
            task = _update(user_id=user_id, task_id=task_id, now=now, if_match=if_match) or _missing(
                user_id, task_id, if_match
            )
        if names is not None:
            _set_tags(user_id=user_id, task_id=task.id, names=names)
            cast("TaggedTask", task).tag_names = names
    return task


def task_toggle(
    *, user_id: str, task_id: int, if_match: Collection[datetime] | None = None, zone: ZoneInfo = UTC
) -> Task:
    """Flip `completed` in one UPDATE, so concurrent toggles never lose one another (a pending
    repeating task takes two statements: it moves to its next occurrence instead)."""
    now = timezone.now()
    values: dict[str, Any] = {"completed": ~F("completed"), "completed_at": _completed_at_if_flipped(now)}
    task = _update(
        user_id=user_id, task_id=task_id, now=now, if_match=if_match,
        condition=Q(recurrence=None) | Q(completed=True) | Q(due_at=None), **values,
    )  # fmt: skip
    if task is not None:
        return task
    return _locked_update(
        user_id=user_id, task_id=task_id, now=now, if_match=if_match, zone=zone, values={"completed": True}
    )


def task_delete(*, user_id: str, task_id: int, if_match: Collection[datetime] | None = None) -> Task:
    """Move the task to the trash and return it as it was; it stays restorable for TASK_TRASH_DAYS."""
    now = timezone.now()
    task = _update(user_id=user_id, task_id=task_id, now=now, if_match=if_match, deleted_at=now)
    return task or _missing(user_id, task_id, if_match)


def task_restore(*, user_id: str, task_id: int) -> Task:
    """Take a task out of the trash (within TASK_TRASH_DAYS of its deletion)."""
    now = timezone.now()
    task = _update(
        user_id=user_id, task_id=task_id, now=now, live=False, condition=Q(deleted_at__gte=trash_cutoff(now)),
        deleted_at=None,
    )  # fmt: skip
    if task is None:
        raise TaskNotFound(task_id)
    return task


def trash_cutoff(now: datetime | None = None) -> datetime:
    return (now or timezone.now()) - timedelta(days=settings.TASK_TRASH_DAYS)


def task_purge(*, before: datetime) -> int:
    """Delete for good the tasks trashed before `before`; return how many."""
    deleted = 0
    while ids := list(Task.objects.filter(deleted_at__lt=before).values_list("id", flat=True)[:1000]):
        deleted += Task.objects.filter(pk__in=ids).delete()[1].get(Task._meta.label, 0)
    return deleted


def _completed_at_if_flipped(now: datetime) -> Case:
    return Case(When(completed=False, then=Value(now)), default=None, output_field=Task._meta.get_field("completed_at"))


def _completion(task: Mapping[str, Any], *, now: datetime, zone: ZoneInfo) -> dict[str, Any]:
    """The values that complete a pending task. A repeating one records the completion in
    `completed_at` and moves its due date to the next occurrence; after the last it completes."""
    done = {"completed": True, "completed_at": now}
    if not task.get("recurrence") or task.get("due_at") is None:
        return done
    following = next_occurrence(task["recurrence"], due_at=task["due_at"], tz=zone)
    if following is None:
        return done
    due_at, rule = following
    return {"completed": False, "completed_at": now, "due_at": due_at, "recurrence": rule}


def _update_or_complete(
    *, user_id: str, task_id: int, now: datetime, if_match: Collection[datetime] | None, zone: ZoneInfo,
    values: dict[str, Any],
) -> Task:  # fmt: skip
    """One UPDATE in the common case; completing a repeating task takes the locked path."""
    written, completing = dict(values), values.get("completed") is True
    if completing:
        written["completed_at"] = Case(When(completed=False, then=Value(now)), default=F("completed_at"))
    elif values.get("completed") is False:
        written["completed_at"] = None
    condition = Q(recurrence=None) | Q(completed=True) | Q(due_at=None) if completing else None
    task = _update(user_id=user_id, task_id=task_id, now=now, if_match=if_match, condition=condition, **written)
    if task is not None:
        return task
    if not completing:
        _missing(user_id, task_id, if_match)
    return _locked_update(user_id=user_id, task_id=task_id, now=now, if_match=if_match, zone=zone, values=values)


def _locked_update(
    *, user_id: str, task_id: int, now: datetime, if_match: Collection[datetime] | None, zone: ZoneInfo,
    values: dict[str, Any],
) -> Task:  # fmt: skip
    """Read the task under a row lock, then write: for changes that depend on the current values."""
    with transaction.atomic():
        current = _locked(user_id=user_id, task_id=task_id, if_match=if_match)
        merged = {"due_at": current.due_at, "recurrence": current.recurrence, **values}
        _require_due_for_recurrence(merged)
        if values.get("completed") is True and not current.completed:
            values = {**values, **_completion(merged, now=now, zone=zone)}
        elif values.get("completed") is False:
            values = {**values, "completed_at": None}
        task = _update(user_id=user_id, task_id=task_id, now=now, **values)
        assert task is not None  # locked above  # noqa: S101
        return task


def _locked(*, user_id: str, task_id: int, if_match: Collection[datetime] | None) -> Task:
    """The live task, locked until the transaction ends; checks the caller's version."""
    task = Task.objects.select_for_update().filter(pk=task_id, user_id=user_id, deleted_at=None).order_by().first()
    if task is None:
        raise TaskNotFound(task_id)
    if if_match is not None and task.updated_at not in if_match:
        raise TaskChanged(task_id)
    return task


def _missing(user_id: str, task_id: int, if_match: Collection[datetime] | None) -> Task:
    """Why an UPDATE matched nothing: another version (412) or no such task (404)."""
    if if_match is not None and task_exists(user_id=user_id, task_id=task_id):
        raise TaskChanged(task_id)
    raise TaskNotFound(task_id)


def _update(
    *, user_id: str, task_id: int, now: datetime, if_match: Collection[datetime] | None = None, live: bool = True,
    condition: Q | None = None, **values: Any,
) -> Task | None:  # fmt: skip
    """Run the ORM's UPDATE with RETURNING: one statement, one round trip, atomic by itself, and
    the row it answers is the one this statement wrote (PostgreSQL and SQLite ≥ 3.35)."""
    tasks = Task.objects.filter(condition or Q(), pk=task_id, user_id=user_id, deleted_at__isnull=live)
    if if_match is not None:
        tasks = tasks.filter(updated_at__in=list(if_match))
    query = cast(UpdateQuery, tasks.query.chain(UpdateQuery))  # chain(klass) returns a klass; the stubs say Query
    query.add_update_values({"updated_at": now, **values})
    try:
        sql, params = query.get_compiler(connection=connection).as_sql()
    except EmptyResultSet:  # e.g. an id beyond the integer range: no such task
        return None
    # A concrete field is one with a column (Django's definition), so field.column is never None here.
    columns = ", ".join(connection.ops.quote_name(cast(str, field.column)) for field in Task._meta.concrete_fields)
    rows = list(Task.objects.raw(f"{sql} RETURNING {columns}, {tag_names_sql()} AS tag_names", params))
    return rows[0] if rows else None


# Tags ------------------------------------------------------------------------------------------

TaskTag = Task.tags.through


def _link_tags(*, user_id: str, task_ids: Iterable[int], names: Sequence[str]) -> None:
    """Attach the named tags (created on first use) to the tasks."""
    Tag.objects.bulk_create([Tag(user_id=user_id, name=name) for name in names], ignore_conflicts=True)
    tag_ids = list(Tag.objects.filter(user_id=user_id, name__in=names).values_list("id", flat=True))
    links = [TaskTag(task_id=task_id, tag_id=tag_id) for task_id in task_ids for tag_id in tag_ids]
    TaskTag.objects.bulk_create(links, ignore_conflicts=True)


def _set_tags(*, user_id: str, task_id: int, names: Sequence[str]) -> None:
    TaskTag.objects.filter(task_id=task_id).exclude(tag__name__in=names).delete()
    if names:
        _link_tags(user_id=user_id, task_ids=[task_id], names=names)


def _touch_tagged(tag: Tag, now: datetime) -> None:
    """A tag's tasks change when it is renamed or deleted: bump them so sync clients see it."""
    Task.objects.filter(pk__in=TaskTag.objects.filter(tag=tag).values("task_id")).update(updated_at=now)


def tag_rename(*, user_id: str, name: str, new_name: str) -> Tag:
    """Rename a tag; renaming onto an existing tag merges the two."""
    tag = tag_get(user_id=user_id, name=name)
    try:
        new_name = clean_tag_name(new_name)
    except ValidationError as exc:
        raise ValidationError({"name": exc.messages}) from None
    if new_name == tag.name:
        return tag
    with transaction.atomic():
        _touch_tagged(tag, timezone.now())
        target = Tag.objects.filter(user_id=user_id, name=new_name).first()
        if target is None:
            tag.name = new_name
            tag.save(update_fields=["name"])
            return tag
        task_ids = TaskTag.objects.filter(tag=tag).values_list("task_id", flat=True)
        TaskTag.objects.bulk_create([TaskTag(task_id=i, tag_id=target.id) for i in task_ids], ignore_conflicts=True)
        tag.delete()
        return target


def tag_delete(*, user_id: str, name: str) -> None:
    """Remove a tag from every task of the user and forget it."""
    tag = tag_get(user_id=user_id, name=name)
    with transaction.atomic():
        _touch_tagged(tag, timezone.now())
        tag.delete()


# Many tasks ------------------------------------------------------------------------------------

IMPORT_ONLY_FIELDS = ("created_at", "completed_at")


def task_create_many(*, user_id: str, items: Sequence[Mapping[str, Any]]) -> list[Task]:
    """Create all the tasks or none; BulkInvalid names every invalid item by its index.

    Items may also carry `created_at` and `completed_at` (aware datetimes): an import keeps them."""
    rows, errors = [], {}
    for index, item in enumerate(items):
        try:
            values = _clean({name: value for name, value in item.items() if name not in IMPORT_ONLY_FIELDS})
            _require_due_for_recurrence(values)
            rows.append((values, {name: item[name] for name in IMPORT_ONLY_FIELDS if item.get(name)}))
        except ValidationError as exc:
            errors[index] = exc.message_dict
    if errors:
        raise BulkInvalid("tasks", errors)
    now = timezone.now()
    tasks, names_of = [], []
    for values, kept in rows:
        names_of.append(values.pop("tags", []))
        completed_at = kept.get("completed_at", now) if values.get("completed") else None
        created_at = kept.get("created_at", now)
        tasks.append(Task(user_id=user_id, created_at=created_at, updated_at=now, completed_at=completed_at, **values))
    with transaction.atomic():
        Task.objects.bulk_create(tasks)
        by_names: dict[tuple[str, ...], list[int]] = {}
        for task, names in zip(tasks, names_of, strict=True):
            cast("TaggedTask", task).tag_names = names
            if names:
                by_names.setdefault(tuple(names), []).append(task.id)
        for names, task_ids in by_names.items():
            _link_tags(user_id=user_id, task_ids=task_ids, names=names)
    return tasks


def task_bulk_update(
    *,
    user_id: str,
    ids: Sequence[int],
    action: BulkAction,
    tags: Sequence[str] = (),
    zone: ZoneInfo = UTC,
) -> list[Task]:
    """Apply one action to several of the user's tasks, all or nothing; BulkInvalid lists unknown ids."""
    try:
        names = _clean_tags(list(tags))
    except ValidationError as exc:
        raise ValidationError({"tags": exc.messages}) from None
    now = timezone.now()
    with transaction.atomic():
        scope = Task.objects.filter(user_id=user_id, pk__in=ids)
        if action == "restore":
            scope = scope.filter(deleted_at__gte=trash_cutoff(now))
        else:
            scope = scope.filter(deleted_at=None)
        found = {task.id: task for task in scope.select_for_update().order_by("id")}
        missing = {index: [f"Task {task_id} not found."] for index, task_id in enumerate(ids) if task_id not in found}
        if missing:
            raise BulkInvalid("ids", missing)
        tasks = Task.objects.filter(pk__in=list(found))
        if action == "complete":
            for task in found.values():
                if not task.completed:
                    current = {"due_at": task.due_at, "recurrence": task.recurrence}
                    values = _completion(current, now=now, zone=zone)
                    Task.objects.filter(pk=task.id).update(updated_at=now, **values)
        elif action == "reopen":
            tasks.filter(completed=True).update(completed=False, completed_at=None, updated_at=now)
        elif action == "delete":
            tasks.update(deleted_at=now, updated_at=now)
        elif action == "restore":
            tasks.update(deleted_at=None, updated_at=now)
        elif action == "tag" and names:
            _link_tags(user_id=user_id, task_ids=list(found), names=names)
            tasks.update(updated_at=now)
        elif action == "untag" and names:
            TaskTag.objects.filter(task_id__in=list(found), tag__name__in=names).delete()
            tasks.update(updated_at=now)
        elif action not in {"tag", "untag"}:
            raise ValueError(f"Unknown bulk action {action!r}")
    return _in_order(ids)


def _in_order(ids: Sequence[int]) -> list[Task]:
    by_id = {task.id: task for task in task_many(ids=ids)}
    return [by_id[task_id] for task_id in dict.fromkeys(ids)]


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
    # COPY does not apply the model's defaults: name every NOT NULL column.
    fixed = {"priority": 0, "position": 0}
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


# Idempotency -----------------------------------------------------------------------------------


def request_fingerprint(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(b"\n".join([method.encode(), path.encode(), body])).hexdigest()


def idempotent(
    *, user_id: str, key: str, fingerprint: str, respond: Callable[[], tuple[int, Any]]
) -> tuple[int, Any, bool]:
    """Run `respond` once per (user, key): a repeat gets the stored (status, body) and True.

    The key row is inserted in the same transaction as the work, so a concurrent repeat waits on
    the unique index until the first commits, then replays it; if the work fails, the key is free."""
    with transaction.atomic():
        while True:
            try:
                with transaction.atomic():
                    record = IdempotencyKey.objects.create(
                        user_id=user_id, key=key, fingerprint=fingerprint, status_code=0, response={}
                    )
                break
            except IntegrityError:
                record = IdempotencyKey.objects.get(user_id=user_id, key=key)
                if record.expired:
                    record.delete()
                    continue
                if record.fingerprint != fingerprint:
                    raise IdempotencyKeyReused from None
                return record.status_code, record.response, True
        status, body = respond()
        record.status_code, record.response = status, body
        record.save(update_fields=["status_code", "response"])
        return status, body, False


def idempotency_purge() -> int:
    """Forget the idempotency keys older than IDEMPOTENCY_KEY_TTL; return how many."""
    cutoff = timezone.now() - settings.IDEMPOTENCY_KEY_TTL
    return IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()[0]
