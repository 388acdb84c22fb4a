"""The task operations of the assistant fronts (the chat agent's tools and the MCP tools): typed arguments,
the result shapes both answer (tasks.results), and one mapping of domain errors to results (`answer`).

A front only turns what it was given (English, ISO text, comma-separated names) into these arguments;
the rules themselves live in tasks.services and tasks.selectors, which the REST API calls too."""

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from typing_extensions import Unpack

from tasks import selectors, services
from tasks.exceptions import TaskNotFound
from tasks.models import PRIORITIES
from tasks.results import task_item, task_summary
from tasks.selectors import STATUS_COMPLETED, OrderKey, TaskConditions

UTC = ZoneInfo("UTC")
LIST_LIMIT = 100
MAX_SEARCH = 200
NOTHING_TO_CHANGE = "Give at least one field to change."
FAILED = {"not_found", "invalid"}
Priority = Literal["none", "low", "medium", "high"]
Status = Literal["all", "pending", "completed"]
Result = dict[str, Any] | list[dict[str, Any]]


class NothingToChange(Exception):
    """An update that names no field to change."""

    def __init__(self, task_id: int) -> None:
        super().__init__(NOTHING_TO_CHANGE)
        self.task_id = task_id


def answer(work: Callable[[], Result]) -> Result:
    """What `work()` answers, or the result that says why it failed: a task that is not the caller's is
    "not_found", exactly as the REST API's 404; invalid values are "invalid" with per-field errors."""
    try:
        return work()
    except TaskNotFound as exc:
        return {"task_id": exc.task_id, "status": "not_found", "error": str(exc)}
    except NothingToChange as exc:
        return {"task_id": exc.task_id, "status": "invalid", "errors": {"detail": [str(exc)]}}
    except ValidationError as exc:
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        return {"status": "invalid", "errors": errors}


def failed(result: Result) -> bool:
    return isinstance(result, dict) and result.get("status") in FAILED


def names(text: str | None) -> list[str]:
    """Comma-separated names ("high,medium", "errands, home") as a list."""
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def task_add(
    *,
    user_id: str,
    title: str,
    description: str | None = None,
    priority: Priority | None = None,
    tags: Sequence[str] = (),
    due_at: datetime | None = None,
    recurrence: str | None = None,
    zone: ZoneInfo = UTC,
) -> dict[str, Any]:
    task = services.task_create(
        user_id=user_id, title=title, description=description, priority=priority or "none", tags=tags,
        due_at=due_at, recurrence=recurrence, zone=zone,
    )  # fmt: skip
    return task_summary(task, "created", zone)


def task_find(
    *,
    user_id: str,
    status: Status = "all",
    ordering: Sequence[OrderKey] = (),
    zone: ZoneInfo = UTC,
    limit: int = LIST_LIMIT,
    **conditions: Unpack[TaskConditions],
) -> list[dict[str, Any]]:
    """The user's live tasks meeting every condition given: newest first, or soonest due first when
    filtering by due date (unless `ordering` says otherwise); at most `limit`."""
    errors, search = {}, conditions.get("search")
    if unknown := [name for name in conditions.get("priorities") or () if name not in PRIORITIES]:
        errors["priority"] = [f"Unknown value(s) {', '.join(unknown)}; use {', '.join(PRIORITIES)}."]
    if status not in STATUS_COMPLETED:
        errors["status"] = [f"Use one of {', '.join(STATUS_COMPLETED)}."]
    if search and len(search) > MAX_SEARCH:
        errors["search"] = [f"Ensure this value has at most {MAX_SEARCH} characters (it has {len(search)})."]
    for name, values in (("tag", conditions.get("tags") or ()), ("search", [search or ""])):
        if any("\x00" in value for value in values):
            errors[name] = ["Null characters are not allowed."]
    if errors:
        raise ValidationError(errors)
    if not ordering and (conditions.get("due_before") or conditions.get("due_after") or conditions.get("overdue")):
        ordering = [OrderKey("due_at", descending=False)]
    tasks = selectors.task_list(user_id=user_id, completed=STATUS_COMPLETED[status])
    tasks = selectors.task_filter(tasks, **conditions)
    ordered = selectors.task_ordered(tasks, selectors.task_ordering(tasks, ordering))
    return [task_item(task, zone) for task in ordered[:limit]]


def task_complete(*, user_id: str, task_id: int, zone: ZoneInfo = UTC) -> dict[str, Any]:
    """Complete the task; a repeating one moves on, and its summary says when it is next due (next_due_at)."""
    task = services.task_set_completed(user_id=user_id, task_id=task_id, zone=zone, completed=True)
    summary = task_summary(task, "completed", zone)
    if not task.completed and "due_at" in summary:
        summary["next_due_at"] = summary.pop("due_at")
    return summary


def task_remove(*, user_id: str, task_id: int, zone: ZoneInfo = UTC) -> dict[str, Any]:
    return task_summary(services.task_delete(user_id=user_id, task_id=task_id), "deleted", zone)


def task_change(
    *,
    user_id: str,
    task_id: int,
    changes: dict[str, Any],
    zone: ZoneInfo = UTC,
    undated_start: datetime | None = None,
) -> dict[str, Any]:
    """Change the fields in `changes` (at least one; a due_at or recurrence of None removes it)."""
    if not changes:
        raise NothingToChange(task_id)
    task = services.task_update(user_id=user_id, task_id=task_id, zone=zone, undated_start=undated_start, **changes)
    return task_summary(task, "updated", zone)
