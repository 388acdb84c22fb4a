"""The events of tasks, lists and tags, recorded by the services in the transaction of each change
(events.outbox). Every write of tasks.services ends here; nothing else writes events of them.

A task event's data is the hackathon's task event: `event_type` (created, updated, completed or deleted:
a restore is an update, a purge a deletion), `task_id`, `task_data` (the task as the API renders it,
as it is after the change), `user_id` and `timestamp` (the change's moment, the task's updated_at). The
CloudEvents `type` says more: todo.task.<kind>, one of TASK_KINDS.
"""

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Literal, get_args

from django.utils import timezone

from events.outbox import Change, record
from tasks.models import Task, TaskList
from tasks.serializers import iso_datetime, render_task

TaskKind = Literal["created", "updated", "completed", "deleted", "restored", "purged"]
ListKind = Literal["created", "updated", "deleted", "restored", "purged"]
TagKind = Literal["renamed", "deleted"]
TASK_KINDS: dict[str, str] = {"created": "created", "updated": "updated", "completed": "completed",
                              "deleted": "deleted", "restored": "updated", "purged": "deleted"}  # fmt: skip
# Every CloudEvents type the outbox records (what a webhook may ask for).
EVENT_TYPES: tuple[str, ...] = (
    *(f"todo.task.{kind}" for kind in get_args(TaskKind)),
    *(f"todo.list.{kind}" for kind in get_args(ListKind)),
    *(f"todo.tag.{kind}" for kind in get_args(TagKind)),
)
LIST_FIELDS = ("id", "name", "color", "position", "archived", "inbox")


def tasks_changed(kind: TaskKind, tasks: Iterable[Task], *, at: datetime | None = None) -> None:
    """One event per task, of the tasks as they are now (`at`: the moment, default each task's updated_at)."""
    by_user: dict[str, list[Change]] = {}
    for task in tasks:
        time = at or task.updated_at
        data = {"event_type": TASK_KINDS[kind], "task_id": task.id, "task_data": render_task(task),
                "user_id": task.user_id, "timestamp": iso_datetime(time)}  # fmt: skip
        by_user.setdefault(task.user_id, []).append(Change(f"todo.task.{kind}", f"tasks/{task.id}", time, data))
    for user_id, changes in by_user.items():
        record(user_id, changes)


def written_kind(values: Mapping[str, Any], task: Task) -> TaskKind:
    """What a write of `values` (task_write's) did to the task, as it is after the write."""
    if "deleted_at" in values:
        return "deleted" if task.deleted_at is not None else "restored"
    if "completed" in values and task.completed_at is not None and task.completed_at == task.updated_at:
        return "completed"  # completed now (a repeating task too, which moved on to its next occurrence)
    return "updated"


def lists_changed(kind: ListKind, task_lists: Iterable[TaskList], *, at: datetime | None = None) -> None:
    for task_list in task_lists:
        time = at or task_list.updated_at
        data: dict[str, Any] = {name: getattr(task_list, name) for name in LIST_FIELDS}
        data |= {"created_at": iso_datetime(task_list.created_at), "updated_at": iso_datetime(task_list.updated_at)}
        change = {"event_type": kind, "list_id": task_list.id, "list_data": data, "user_id": task_list.user_id,
                  "timestamp": iso_datetime(time)}  # fmt: skip
        record(task_list.user_id, [Change(f"todo.list.{kind}", f"lists/{task_list.id}", time, change)])


def tag_changed(kind: TagKind, *, user_id: str, name: str, new_name: str | None = None) -> None:
    """A tag renamed (onto `new_name`, merged where that existed) or deleted; its tasks' events follow."""
    now = timezone.now()
    data = {"event_type": kind, "name": name, "user_id": user_id, "timestamp": iso_datetime(now)}
    if new_name is not None:
        data["new_name"] = new_name
    record(user_id, [Change(f"todo.tag.{kind}", f"tags/{name}", now, data)])
