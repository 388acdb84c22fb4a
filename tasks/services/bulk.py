"""Writes of many tasks at once, all or nothing: create (the import's rows too), and one action on several tasks."""

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, cast
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import OperationalError, connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from tasks import speedups
from tasks.events import tasks_changed
from tasks.exceptions import BulkInvalid, TasksLocked
from tasks.models import Task
from tasks.selectors import task_many
from tasks.services.quotas import task_room
from tasks.services.subtasks import descendants, placed, restored_under_parent, subtree_restore
from tasks.services.tags import TaskTag, task_tags_add, task_tags_remove
from tasks.services.tasks import RESTORED, completion, task_write, trash_cutoff
from tasks.services.validation import (
    MAX_TAGS_PER_TASK,
    NO_SUCH_LIST,
    clean_tags,
    clean_values,
    lists_for_tasks,
    series_values,
)

if TYPE_CHECKING:
    from tasks.selectors import TaggedTask

UTC = ZoneInfo("UTC")
BulkAction = Literal["complete", "reopen", "delete", "restore", "tag", "untag"]
IMPORT_ONLY_FIELDS = ("created_at", "completed_at")


def task_create_many(*, user_id: str, items: Sequence[Mapping[str, Any]], zone: ZoneInfo = UTC) -> list[Task]:
    """Create all the tasks or none; BulkInvalid names every invalid item by its index."""
    rows = cleaned_items(items, zone=zone)
    with transaction.atomic():
        task_room(user_id=user_id, adding=len(rows))
        wanted = sorted({values["list_id"] for values, _ in rows if values.get("list_id") is not None})
        stored = lists_for_tasks(user_id=user_id, list_ids=wanted) if wanted else {}
        unknown = {i: {"list_id": [NO_SUCH_LIST]} for i, (values, _) in enumerate(rows)
                   if values.get("list_id") is not None and values["list_id"] not in stored}  # fmt: skip
        if unknown:
            raise BulkInvalid("tasks", unknown)
        for index, (values, _) in enumerate(rows):
            if values.get("list_id") is not None:
                values["list_id"] = stored[values["list_id"]]
            if values.get("parent_id") is not None:  # under an existing task (one check each)
                if values.get("list_id") is None:
                    values.pop("list_id", None)  # no list given: the parent's
                try:
                    values.update(placed(user_id=user_id, task_id=None, values=values))
                except ValidationError as exc:
                    unknown[index] = exc.message_dict
        if unknown:
            raise BulkInvalid("tasks", unknown)
        return inserted(user_id=user_id, rows=rows)


Row = tuple[dict[str, Any], dict[str, Any]]  # a task's cleaned values, and the moments an import keeps


def cleaned_items(items: Sequence[Mapping[str, Any]], *, zone: ZoneInfo) -> list[Row]:
    """The items' values checked as every write checks them; BulkInvalid names every invalid item by its index.

    Items may also carry `created_at` and `completed_at` (aware datetimes): an import keeps them."""
    rows, errors = [], {}
    for index, item in enumerate(items):
        try:
            values = clean_values({name: value for name, value in item.items() if name not in IMPORT_ONLY_FIELDS})
            values = series_values(values, zone=zone)
            rows.append((values, {name: item[name] for name in IMPORT_ONLY_FIELDS if item.get(name)}))
        except ValidationError as exc:
            errors[index] = exc.message_dict
    if errors:
        raise BulkInvalid("tasks", errors)
    return rows


def inserted(*, user_id: str, rows: Sequence[Row]) -> list[Task]:
    """One INSERT of the rows (their list and parent settled already), and their tag links: the new tasks."""
    now = timezone.now()
    tasks, names_of = [], []
    for values, kept in rows:
        names_of.append(values.pop("tags", []))
        completed_at = kept.get("completed_at", now) if values.get("completed") else None
        created_at = kept.get("created_at", now)
        tasks.append(Task(user_id=user_id, created_at=created_at, updated_at=now, completed_at=completed_at, **values))
    Task.objects.bulk_create(tasks)
    by_names: dict[tuple[str, ...], list[int]] = {}
    for task, names in zip(tasks, names_of, strict=True):
        cast("TaggedTask", task).tag_names = names
        if names:
            by_names.setdefault(tuple(names), []).append(task.id)
    for names, task_ids in by_names.items():
        task_tags_add(user_id=user_id, task_ids=task_ids, names=names)
    tasks_changed("created", tasks)
    return tasks


def task_bulk_update(
    *, user_id: str, ids: Sequence[int], action: BulkAction, tags: Sequence[str] = (), zone: ZoneInfo = UTC
) -> list[Task]:
    """Apply one action to several of the user's tasks, all or nothing; BulkInvalid lists unknown ids,
    TasksLocked says that another request held some of them past BULK_LOCK_TIMEOUT_MS."""
    try:
        names = clean_tags(list(tags))
    except ValidationError as exc:
        raise ValidationError({"tags": exc.messages}) from None
    try:
        return _bulk_update(user_id=user_id, ids=ids, action=action, names=names, zone=zone)
    except OperationalError as exc:
        if getattr(exc.__cause__, "sqlstate", None) == LOCK_NOT_AVAILABLE:
            raise TasksLocked() from None
        raise


LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's lock_timeout expired


def _lock_waits_bounded() -> None:
    """In this transaction, wait at most BULK_LOCK_TIMEOUT_MS for a lock another request holds: another
    bulk-update of the same 500 repeating tasks takes seconds, and the requests queueing behind it held a
    server thread each all along (bench/RESULTS.md). SQLite has no row locks: its writers take turns
    (transaction_mode IMMEDIATE), each transaction a short one there."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # SET takes no parameter; set_config(…, true) is SET LOCAL
            cursor.execute("SELECT set_config('lock_timeout', %s, true)", [f"{settings.BULK_LOCK_TIMEOUT_MS}ms"])


def _bulk_update(
    *, user_id: str, ids: Sequence[int], action: BulkAction, names: list[str], zone: ZoneInfo
) -> list[Task]:
    now = timezone.now()
    with transaction.atomic():
        _lock_waits_bounded()
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
            done = []
            for task in found.values():
                if not task.completed:
                    values = completion({"due_at": task.due_at, "recurrence": task.recurrence}, now=now, zone=zone)
                    done.append(task_write(user_id=user_id, task_id=task.id, now=now, values=values, event=False))
            tasks_changed("completed", [task for task in done if task is not None])  # in one statement
        elif action == "reopen":
            reopened = {"completed": False, "completed_at": None, "updated_at": now}
            tasks_changed("updated", speedups.updated(tasks.filter(completed=True), reopened))
        elif action == "delete":
            trashed = {"deleted_at": now, "updated_at": now}
            tasks_changed("deleted", speedups.updated(tasks, trashed))  # and their subtasks with them:
            below = Task.objects.filter(descendants(found), user_id=user_id, deleted_at=None)
            tasks_changed("deleted", speedups.updated(below, trashed))
        elif action == "restore":
            restored = speedups.updated(tasks, {"updated_at": now, **RESTORED})
            tasks_changed("restored", restored)
            parents = tasks.filter(Exists(Task.objects.filter(parent_id=OuterRef("pk"))))
            for task in parents:  # with the subtasks that went to the trash with each
                subtree_restore(task=task, trashed_at=cast(datetime, found[task.id].deleted_at), now=now)
            restored_under_parent(user_id=user_id, task_ids=list(found), now=now)
        elif action == "tag" and names:
            if over := _over_the_tag_limit(ids, names):
                raise BulkInvalid("ids", over)
            task_tags_add(user_id=user_id, task_ids=list(found), names=names)
            tasks_changed("updated", speedups.updated(tasks, {"updated_at": now}))
        elif action == "untag" and names:
            task_tags_remove(task_ids=list(found), names=names)
            tasks_changed("updated", speedups.updated(tasks, {"updated_at": now}))
        elif action not in {"tag", "untag"}:
            raise ValueError(f"Unknown bulk action {action!r}")
    by_id = {task.id: task for task in task_many(ids=ids)}
    return [by_id[task_id] for task_id in dict.fromkeys(ids)]


def _over_the_tag_limit(ids: Sequence[int], names: Sequence[str]) -> dict[int, list[str]]:
    """The tasks (by index) that adding `names` would give more than MAX_TAGS_PER_TASK tags."""
    tags: dict[int, set[str]] = {task_id: set(names) for task_id in ids}
    for task_id, name in TaskTag.objects.filter(task_id__in=list(tags)).values_list("task_id", "tag__name"):
        tags[task_id].add(name)
    return {
        index: [f"Task {task_id} would have {len(tags[task_id])} tags; at most {MAX_TAGS_PER_TASK} per task."]
        for index, task_id in enumerate(ids)
        if len(tags[task_id]) > MAX_TAGS_PER_TASK
    }
