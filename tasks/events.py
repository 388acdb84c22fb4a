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
        data = task_event_data(kind, task, time)
        by_user.setdefault(task.user_id, []).append(Change(f"todo.task.{kind}", f"tasks/{task.id}", time, data))
    for user_id, changes in by_user.items():
        record(user_id, changes)


def finish_written(data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The event proper of a write that recorded its event in its own statement (speedups.update_recording):
    its type and data from the row as written, as tasks_changed makes them (the worker's sequencer calls this,
    through events.outbox.FINISHERS)."""
    row = data["row"]
    task = Task(**{field.attname: field.to_python(row[field.column]) for field in Task._meta.concrete_fields})
    task.tag_names = row["tag_names"]  # type: ignore[attr-defined]  # as update_returning's row has them
    kind = data.get("kind") or written_kind(dict.fromkeys(data["written"]), task)
    return f"todo.task.{kind}", task_event_data(kind, task, task.updated_at)


def task_event_data(kind: TaskKind, task: Task, time: datetime) -> dict[str, Any]:
    return {"event_type": TASK_KINDS[kind], "task_id": task.id, "task_data": render_task(task),
            "user_id": task.user_id, "timestamp": iso_datetime(time)}  # fmt: skip


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


# The OpenAPI description of an event (todo_project.schema.describe_events adds them as components):
# what a webhook's POST carries, and a delivery's `event`.
def _data(kind_of: str, kinds: tuple[str, ...], fields: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["event_type", *required, "user_id", "timestamp"],
        "properties": {
            "event_type": {"type": "string", "enum": sorted(set(kinds))},
            **fields,
            "user_id": {"type": "string"},
            "timestamp": {"type": "string", "format": "date-time", "description": f"The moment the {kind_of} changed."},
        },
    }


LIST_DATA_FIELDS = {"name": {"type": "string"}, "color": {"type": "string", "nullable": True}} | {
    "id": {"type": "integer"}, "position": {"type": "integer"}, "archived": {"type": "boolean"},
    "inbox": {"type": "boolean"}, "created_at": {"type": "string", "format": "date-time"},
    "updated_at": {"type": "string", "format": "date-time"},
}  # fmt: skip
EVENT_SCHEMAS: dict[str, dict[str, Any]] = {
    "TaskEventData": _data(
        "task", tuple(TASK_KINDS.values()),
        {"task_id": {"type": "integer"},
         "task_data": {"allOf": [{"$ref": "#/components/schemas/Task"}], "description": "The task as it became."}},
        ["task_id", "task_data"],
    ),
    "ListEventData": _data(
        "list", get_args(ListKind),
        {"list_id": {"type": "integer"}, "list_data": {"type": "object", "properties": LIST_DATA_FIELDS}},
        ["list_id", "list_data"],
    ),
    "TagEventData": _data(
        "tag", get_args(TagKind),
        {"name": {"type": "string"}, "new_name": {"type": "string", "description": "A rename's new name."}},
        ["name"],
    ),
    "CloudEvent": {
        "type": "object",
        "description": "A change of the user's tasks, lists or tags as a CloudEvents 1.0 event in the structured "
        "JSON format: the body of a webhook's POST (content-type application/cloudevents+json, with the Standard "
        "Webhooks headers webhook-id, webhook-timestamp and webhook-signature), and a message on the broker's "
        "subjects task-events and task-updates.",
        "required": ["specversion", "id", "source", "type", "subject", "time", "datacontenttype", "sequence",
                     "userid", "data"],
        "properties": {
            "specversion": {"type": "string", "enum": ["1.0"]},
            "id": {"type": "string", "format": "uuid", "description": "Unique per event."},
            "source": {"type": "string", "description": "EVENTS_SOURCE, e.g. /todo-backend."},
            "type": {"type": "string", "enum": list(EVENT_TYPES)},
            "subject": {"type": "string", "description": "What changed: tasks/<id>, lists/<id> or tags/<name>."},
            "time": {"type": "string", "format": "date-time"},
            "datacontenttype": {"type": "string", "enum": ["application/json"]},
            "sequence": {"type": "string", "pattern": "^[0-9]{20}$",
                         "description": "The user's event number, 1, 2, 3, … in the order of the changes, "
                         "zero-padded to 20 digits so that it sorts as text."},
            "userid": {"type": "string", "description": "The Better Auth user whose data changed."},
            "data": {"oneOf": [{"$ref": f"#/components/schemas/{name}"}
                               for name in ("TaskEventData", "ListEventData", "TagEventData")]},
        },
    },
}  # fmt: skip
