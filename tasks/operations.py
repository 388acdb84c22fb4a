"""The task operations of the assistant fronts (the chat agent's tools and the MCP tools): typed arguments,
the result shapes both answer (tasks.results), and one mapping of domain errors to results (`answer`).

A front only turns what it was given (English, ISO text, comma-separated names) into these arguments;
the rules themselves live in tasks.services and tasks.selectors, which the REST API calls too."""

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from typing_extensions import Unpack

from tasks import selectors, services
from tasks.exceptions import ListNotFound, QuotaExceeded, TaskNotFound
from tasks.models import PRIORITIES, Task, TaskList
from tasks.results import list_item, list_summary, task_item, task_summary
from tasks.selectors import STATUS_COMPLETED, OrderKey, TaskConditions
from tasks.services import lists

UTC = ZoneInfo("UTC")
LIST_LIMIT = 100
MAX_SEARCH = 200
PAGE_FRAME = 300  # room for task_page's keys around the tasks
NOTHING_TO_CHANGE = "Give at least one field to change."
FAILED = {"not_found", "invalid"}
Priority = Literal["none", "low", "medium", "high"]
Status = Literal["all", "pending", "completed"]
Result = dict[str, Any] | list[dict[str, Any]]
ListRef = int | str  # a list's id, or its name (case-insensitive); "Inbox" is the Inbox
TOP_LEVEL = 0  # as a parent: none (a top-level task)
ARGUMENTS = {"list_id": "list", "parent_id": "parent"}  # the services' names of fields, as the tools call them


class NothingToChange(Exception):
    """An update that names no field to change."""

    def __init__(self, task_id: int) -> None:
        super().__init__(NOTHING_TO_CHANGE)
        self.task_id = task_id


def answer(work: Callable[[], Result]) -> Result:
    """What `work()` answers, or the result that says why it failed: a task that is not the caller's is
    "not_found", exactly as the REST API's 404; invalid values (and a full quota, the REST API's 409) are
    "invalid" with per-field errors."""
    try:
        return work()
    except TaskNotFound as exc:
        return {"task_id": exc.task_id, "status": "not_found", "error": str(exc)}
    except ListNotFound as exc:
        return {"list": exc.list_id, "status": "not_found", "error": str(exc)}
    except QuotaExceeded as exc:
        return {"status": "invalid", "errors": {"detail": [str(exc)]}}
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
    task_list: ListRef | None = None,
    parent: int | None = None,
) -> dict[str, Any]:
    """Add a task: to `task_list` (the Inbox when None), as a subtask of `parent` (in that task's list)."""
    found = list_found(user_id=user_id, ref=task_list) if task_list is not None else None
    with _as_arguments():
        task = services.task_create(
            user_id=user_id, title=title, description=description, priority=priority or "none", tags=tags,
            due_at=due_at, recurrence=recurrence, zone=zone, list_id=_stored(found), parent_id=parent or None,
        )  # fmt: skip
    return _placed(task_summary(task, "created", zone), task, found)


def task_find(
    *,
    user_id: str,
    status: Status = "all",
    ordering: Sequence[OrderKey] = (),
    zone: ZoneInfo = UTC,
    limit: int = LIST_LIMIT,
    task_list: ListRef | None = None,
    subtasks_of: int | None = None,
    **conditions: Unpack[TaskConditions],
) -> list[dict[str, Any]]:
    """The user's live tasks meeting every condition given: newest first, or soonest due first when
    filtering by due date (unless `ordering` says otherwise); at most `limit`. `task_list`: the tasks of
    that list; `subtasks_of`: the subtasks of that task (TOP_LEVEL: the tasks that are no subtask)."""
    conditions |= _placement(user_id=user_id, task_list=task_list, subtasks_of=subtasks_of)
    tasks = _matching(user_id=user_id, status=status, ordering=ordering, **conditions)
    return [task_item(task, zone) for task in tasks[:limit]]


def task_page(
    *,
    user_id: str,
    chars: int,
    status: Status = "all",
    zone: ZoneInfo = UTC,
    limit: int = LIST_LIMIT,
    task_list: ListRef | None = None,
    subtasks_of: int | None = None,
    **conditions: Unpack[TaskConditions],
) -> Result:
    """As task_find, within `chars` characters of JSON: the list when it is whole and fits, else the
    first tasks that fit with how many there are: {"tasks", "shown", "total", "more"}."""
    conditions |= _placement(user_id=user_id, task_list=task_list, subtasks_of=subtasks_of)
    tasks = _matching(user_id=user_id, status=status, **conditions)
    items, size = [], 2  # the brackets
    for task in tasks[:limit]:
        item = task_item(task, zone)
        size += len(json.dumps(item, ensure_ascii=False)) + 2  # and ", "
        if size > chars - PAGE_FRAME:
            break
        items.append(item)
    total = len(items) if len(items) < limit and size <= chars - PAGE_FRAME else tasks.count()
    if len(items) == total:
        return items
    return {
        "tasks": items,
        "shown": len(items),
        "total": total,
        "more": f"Only the first {len(items)} of {total} tasks are shown. Narrow the filters (status, priority, "
        "tag, due dates, search) to see others.",
    }


def _placement(*, user_id: str, task_list: ListRef | None, subtasks_of: int | None) -> TaskConditions:
    """The conditions on a task's list and parent; a list or task that is not the user's is not found."""
    conditions: TaskConditions = {}
    if task_list is not None:
        found = list_found(user_id=user_id, ref=task_list)
        conditions |= {"in_list": "inbox" if found.inbox else found.id, "owner": user_id}
    if subtasks_of is not None:
        if subtasks_of != TOP_LEVEL and not selectors.task_exists(user_id=user_id, task_id=subtasks_of):
            raise TaskNotFound(subtasks_of)
        conditions["parent"] = "none" if subtasks_of == TOP_LEVEL else subtasks_of
    return conditions


def _matching(
    *, user_id: str, status: Status, ordering: Sequence[OrderKey] = (), **conditions: Unpack[TaskConditions]
) -> QuerySet[Task]:
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
    return selectors.task_ordered(tasks, selectors.task_ordering(tasks, ordering))


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
    task_list: ListRef | None = None,
    parent: int | None = None,
) -> dict[str, Any]:
    """Change the fields in `changes` (at least one; a due_at or recurrence of None removes it). `task_list`
    moves the task, its subtasks with it, to that list (out from under its parent, unless that moves
    too); `parent` puts it under that task, in that task's list (TOP_LEVEL: out from under its parent)."""
    found = list_found(user_id=user_id, ref=task_list) if task_list is not None else None
    if found is not None:
        changes = {**changes, "list_id": _stored(found)}
    if parent is not None:
        changes = {**changes, "parent_id": parent or None}
    if not changes:
        raise NothingToChange(task_id)
    with _as_arguments():
        task = services.task_update(user_id=user_id, task_id=task_id, zone=zone, undated_start=undated_start, **changes)
    return _placed(task_summary(task, "updated", zone), task, found)


def task_reach(*, user_id: str, task_id: int, completing: bool) -> int:
    """How many tasks completing the task changes (it and its open subtasks), or deleting it (it and its
    subtasks); 1 for a task that is not the user's (the call will say it is not found)."""
    live, open_below = selectors.task_subtree_size(user_id=user_id, task_id=task_id)
    return 1 + open_below if completing else max(live, 1)


# Lists ------------------------------------------------------------------------------------------


def list_found(*, user_id: str, ref: ListRef) -> TaskList:
    """The live list `ref` names: by its name (case-insensitively), else by its id (a name of digits is
    tried as a name first). "Inbox" is the Inbox, made on first need. Another user's list, one in the
    trash and none at all are alike ListNotFound."""
    if isinstance(ref, str):
        try:
            return selectors.list_named(user_id=user_id, name=ref)
        except ListNotFound:
            said = ref.strip()
            if said.casefold() == lists.INBOX_NAME.casefold():
                return lists.inbox(user_id=user_id)
            if not (said.isascii() and said.isdigit()):
                raise
            ref = int(said)
    return selectors.list_get(user_id=user_id, list_id=ref)


def list_add(*, user_id: str, name: str, color: str | None = None) -> dict[str, Any]:
    return list_summary(lists.list_create(user_id=user_id, name=name, color=color), "created")


def list_rename(*, user_id: str, task_list: ListRef, name: str) -> dict[str, Any]:
    found = list_found(user_id=user_id, ref=task_list)
    return list_summary(lists.list_update(user_id=user_id, list_id=found.id, name=name), "renamed")


def list_overview(*, user_id: str, chars: int | None = None) -> Result:
    """The user's lists in their order (the Inbox first, made on first need), each with its open tasks'
    count; within `chars` characters of JSON, as task_page: {"lists", "shown", "total", "more"}."""
    found = selectors.list_all(user_id=user_id)
    if not any(task_list.inbox for task_list in found):
        lists.inbox(user_id=user_id)
        found = selectors.list_all(user_id=user_id)
    items = [list_item(task_list) for task_list in found]
    shown, size = [], 2
    for item in items:
        size += len(json.dumps(item, ensure_ascii=False)) + 2
        if chars is not None and size > chars - PAGE_FRAME:
            break
        shown.append(item)
    if len(shown) == len(items):
        return items
    return {
        "lists": shown,
        "shown": len(shown),
        "total": len(items),
        "more": f"Only the first {len(shown)} of {len(items)} lists are shown. Name a list to see its tasks.",
    }


def _stored(found: TaskList | None) -> int | None:
    """A list as a task stores it: None for the Inbox."""
    return None if found is None or found.inbox else found.id


def _placed(summary: dict[str, Any], task: Task, found: TaskList | None) -> dict[str, Any]:
    """The summary, with the name of the list the call named when the task is in it."""
    if found is not None and _stored(found) == task.list_id:
        summary["list"] = found.name
    return summary


@contextmanager
def _as_arguments() -> Iterator[None]:
    """The services' errors on list_id and parent_id, under the names the tools give them (list, parent)."""
    try:
        yield
    except ValidationError as exc:
        if not hasattr(exc, "error_dict"):
            raise
        raise ValidationError(
            {ARGUMENTS.get(name, name): errors for name, errors in exc.message_dict.items()}
        ) from None
