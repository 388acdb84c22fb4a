"""The small results the assistant's tools and the MCP tools answer about a task or a list (one shape for both)."""

from datetime import datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from tasks import recurrence as rrule
from tasks.selectors import tag_list_of

UTC = ZoneInfo("UTC")


def moment(value: datetime, zone: tzinfo = UTC) -> str:
    """A datetime in `zone`, to the second, with its offset."""
    return value.astimezone(zone).isoformat(timespec="seconds")


def task_summary(task: Any, status: str, zone: tzinfo = UTC) -> dict[str, Any]:
    """The contract's {"task_id", "status", "title"}, plus the new fields the task has."""
    summary: dict[str, Any] = {"task_id": task.id, "status": status, "title": task.title}
    if task.priority_name != "none":
        summary["priority"] = task.priority_name
    if tags := tag_list_of(task):
        summary["tags"] = tags
    if task.due_at:
        summary["due_at"] = moment(task.due_at, zone)
    if task.recurrence:
        summary["recurrence"] = task.recurrence
        summary["repeats"] = rrule.describe(task.recurrence)
    return summary | _placement(task)


def task_item(task: Any, zone: tzinfo = UTC) -> dict[str, Any]:
    """One task in a list_tasks answer."""
    item = {
        "id": task.id,
        "title": task.title,
        "completed": task.completed,
        "priority": task.priority_name,
        "tags": tag_list_of(task),
        "due_at": moment(task.due_at, zone) if task.due_at else None,
    }
    if task.recurrence:
        item["repeats"] = rrule.describe(task.recurrence)
    return item | _placement(task)


def _placement(task: Any) -> dict[str, int]:
    """Where a task is, when it is not a top-level task of the Inbox: its list's id, its parent's."""
    return {name: getattr(task, name) for name in ("list_id", "parent_id") if getattr(task, name) is not None}


def list_summary(task_list: Any, status: str) -> dict[str, Any]:
    """What create_list and rename_list answer: {"list_id", "status", "name"}."""
    return {"list_id": task_list.id, "status": status, "name": task_list.name}


def list_item(task_list: Any) -> dict[str, Any]:
    """One list in a list_lists answer: its id, name and open tasks' count (the Inbox and archived ones say so)."""
    item = {"id": task_list.id, "name": task_list.name, "open_count": task_list.open_count}
    if task_list.inbox:
        item["inbox"] = True
    if task_list.archived:
        item["archived"] = True
    return item
