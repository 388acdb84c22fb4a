"""The assistant's function tools: thin adapters over tasks.services and tasks.selectors.

The user is never a tool argument: it comes from the run context, which the view fills from the
verified token. A tool returns a small JSON object (a string, which the model reads as is), and
records the call on the context so the view can store it and show it in `tool_calls`.

Dates and repetition are read in the user's time zone (the context's, from the X-Timezone header),
by chat.phrases: the same English the offline model listens for.
"""

import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, cast
from zoneinfo import ZoneInfo

from agents import FunctionTool, RunContextWrapper, function_tool
from agents.tool_context import ToolContext
from asgiref.sync import sync_to_async
from django.core.exceptions import ValidationError

# Under the names the tool functions know them by.
from chat.phrases import DEFAULT_DUE_TIME, parse_recurrence
from chat.phrases import clears as _clears
from chat.phrases import local_time as _at
from chat.phrases import parse_bound as _bound
from chat.phrases import parse_due as _due_at
from tasks import recurrence as rrule
from tasks import selectors, services
from tasks.exceptions import TaskNotFound
from tasks.filters import task_query
from tasks.results import task_item, task_summary

LIST_LIMIT = 100
UTC = ZoneInfo("UTC")
Priority = Literal["none", "low", "medium", "high"]


@dataclass
class ChatContext:
    """What a run knows about its caller, and the tool calls it made."""

    user_id: str
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    zone: ZoneInfo = UTC

    def now(self) -> datetime:
        return datetime.now(self.zone)


def _task_tool(func: Callable[..., dict[str, Any] | list[dict[str, Any]]]) -> FunctionTool:
    """Run a sync tool in the request's thread (its database connection), answer JSON, record the call.

    Domain errors become results the model can relay: a task that is not the user's is
    "not_found", exactly as for the REST API."""

    @functools.wraps(func)
    async def tool(ctx: RunContextWrapper[ChatContext], *args: Any, **kwargs: Any) -> str:
        try:
            result: Any = await sync_to_async(func)(ctx, *args, **kwargs)
        except TaskNotFound as exc:
            result = {"task_id": exc.task_id, "status": "not_found", "error": str(exc)}
        except ValidationError as exc:
            errors = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
            result = {"status": "invalid", "errors": errors}
        if isinstance(ctx, ToolContext):
            ctx.context.tool_calls.append(
                {
                    "call_id": ctx.tool_call_id,
                    "name": ctx.tool_name,
                    "arguments": json.loads(ctx.tool_arguments or "{}"),
                    "result": result,
                }
            )
        return json.dumps(result, ensure_ascii=False)

    return function_tool(tool)


def _tag_names(tags: list[str]) -> list[str]:
    return [name.lstrip("#") if isinstance(name, str) else name for name in tags]  # "#errands" is meant as "errands"


# Recurrence -------------------------------------------------------------------------------------


def _first_occurrence(rule: str, start: datetime) -> datetime:
    """The first day the rule names from `start`'s on, at `start`'s wall time: a series starts on one of its days."""
    try:
        rule = rrule.normalize_rule(rule)
    except rrule.RecurrenceError as exc:
        raise ValidationError({"recurrence": [str(exc)]}) from None
    if ";BY" not in rule:
        return start
    # Whatever the interval or count: the series then counts from this day.
    first_day = re.sub(r";(?:INTERVAL|COUNT|UNTIL)=[^;]*", "", rule)
    # `start` is always in the user's zone (a ZoneInfo): _due_at and _today_due build it with the context's.
    found = rrule.next_occurrence(first_day, due_at=start - timedelta(days=1), tz=cast(ZoneInfo, start.tzinfo))
    return found[0] if found else start


def _has_due(user_id: str, task_id: int) -> bool:
    return selectors.task_get(user_id=user_id, task_id=task_id).due_at is not None


def _today_due(now: datetime) -> datetime:
    return _at(now.date(), DEFAULT_DUE_TIME, now.tzinfo)


# Tools ------------------------------------------------------------------------------------------


@_task_tool
def add_task(
    ctx: RunContextWrapper[ChatContext],
    title: str,
    description: str | None = None,
    priority: Priority | None = None,
    tags: list[str] | None = None,
    due: str | None = None,
    recurrence: str | None = None,
) -> dict[str, Any]:
    """Add a new task to the user's list.

    Dates are read in the user's time zone. A day without a time ("tomorrow", "friday", "2026-12-01") is due
    at 23:59 that day.

    Args:
        title: A short title, 1 to 200 characters, e.g. "Buy groceries" (without the date, priority or tags).
        description: Optional details, up to 1000 characters.
        priority: "none" (the default), "low", "medium" or "high".
        tags: Tag names without "#", e.g. ["errands", "home"].
        due: When it is due, in English or ISO 8601: "tomorrow 5pm", "friday", "next week", "end of the month",
            "2026-12-01", "2026-12-01T09:00:00+01:00".
        recurrence: How it repeats: "daily", "every weekday", "every monday", "every 2 weeks", "monthly",
            "every month on the 1st", "yearly", or an RRULE like "FREQ=WEEKLY;BYDAY=MO,WE". The task is first
            due on the rule's first day from `due` on (from today without `due`).
    """
    context = ctx.context
    now = context.now()
    rule = parse_recurrence(recurrence) if recurrence is not None else None
    due_at = _due_at("due", due, now) if due and not _clears(due) else None
    if rule:
        due_at = _first_occurrence(rule, due_at or _today_due(now))
    task = services.task_create(
        user_id=context.user_id, title=title, description=description, priority=priority or "none",
        tags=_tag_names(tags or []), due_at=due_at, recurrence=rule,
    )  # fmt: skip
    return task_summary(task, "created", context.zone)


@_task_tool
def list_tasks(
    ctx: RunContextWrapper[ChatContext],
    status: Literal["all", "pending", "completed"] = "all",
    priority: str | None = None,
    tag: str | None = None,
    due_before: str | None = None,
    due_after: str | None = None,
    overdue: bool | None = None,
    search: str | None = None,
) -> list[dict[str, Any]]:
    """List the user's tasks (at most 100): newest first, or soonest due first when filtering by due date.

    Filters combine (all must hold). Dates are read in the user's time zone; due_at is shown in it.

    Args:
        status: "all" (default), "pending" (not completed yet) or "completed".
        priority: "none", "low", "medium" or "high"; several separated by commas, e.g. "high,medium".
        tag: A tag name without "#"; several separated by commas match tasks with any of them.
        due_before: Due before this moment, in English or ISO 8601. A day without a time counts whole:
            "friday" includes Friday, "end of this week" includes Sunday, "start of next week" is Monday 00:00.
        due_after: Due at or after this moment; a day without a time counts whole ("tomorrow" includes it).
        overdue: true for pending tasks past their due time, false for the others.
        search: Words to find in the title or description.
    """
    context = ctx.context
    now = context.now()
    params = {"status": status, "priority": priority, "tag": tag and tag.replace("#", ""), "search": search}
    if overdue is not None:
        params["overdue"] = str(overdue).lower()
    for name, text in (("due_before", due_before), ("due_after", due_after)):
        if text:
            params[name] = _bound(name, text, now)
    if due_before or due_after or overdue:
        params["ordering"] = "due_at"
    query = task_query(user_id=context.user_id, params={k: v for k, v in params.items() if v is not None})
    if not query.is_valid():
        raise ValidationError({name: list(messages) for name, messages in query.errors.items()})
    return [task_item(task, context.zone) for task in query.ordered()[:LIST_LIMIT]]


@_task_tool
def complete_task(ctx: RunContextWrapper[ChatContext], task_id: int) -> dict[str, Any]:
    """Mark one of the user's tasks as completed. A repeating task moves to its next occurrence (next_due_at).

    Args:
        task_id: The task's id, as shown by list_tasks.
    """
    context = ctx.context
    task = services.task_update(user_id=context.user_id, task_id=task_id, zone=context.zone, completed=True)
    summary = task_summary(task, "completed", context.zone)
    if not task.completed and "due_at" in summary:
        summary["next_due_at"] = summary.pop("due_at")
    return summary


@_task_tool
def delete_task(ctx: RunContextWrapper[ChatContext], task_id: int) -> dict[str, Any]:
    """Delete one of the user's tasks.

    Args:
        task_id: The task's id, as shown by list_tasks.
    """
    task = services.task_delete(user_id=ctx.context.user_id, task_id=task_id)
    return task_summary(task, "deleted", ctx.context.zone)


@_task_tool
def update_task(
    ctx: RunContextWrapper[ChatContext],
    task_id: int,
    title: str | None = None,
    description: str | None = None,
    priority: Priority | None = None,
    tags: list[str] | None = None,
    due: str | None = None,
    recurrence: str | None = None,
) -> dict[str, Any]:
    """Change some fields of one of the user's tasks; leave the others out (null).

    Args:
        task_id: The task's id, as shown by list_tasks.
        title: The new title, if it changes.
        description: The new description, if it changes.
        priority: The new priority: "none", "low", "medium" or "high".
        tags: The complete new list of tag names (it replaces the old one; [] removes all tags).
        due: The new due date, as for add_task ("tomorrow 5pm", "friday"), or "none" to remove it.
        recurrence: The new repetition, as for add_task ("every monday", "FREQ=MONTHLY"), or "none" to stop it.
    """
    context = ctx.context
    now = context.now()
    tags = None if tags is None else _tag_names(tags)
    changes: dict[str, Any] = {"title": title, "description": description, "priority": priority, "tags": tags}
    changes = {name: value for name, value in changes.items() if value is not None}
    if due is not None:
        changes["due_at"] = None if _clears(due) else _due_at("due", due, now)
    if recurrence is not None:
        changes["recurrence"] = parse_recurrence(recurrence)
    if not changes:
        return {"task_id": task_id, "status": "invalid", "errors": {"detail": ["Give at least one field to change."]}}
    if changes.get("recurrence") and changes.get("due_at"):
        changes["due_at"] = _first_occurrence(changes["recurrence"], changes["due_at"])
    elif changes.get("recurrence") and "due_at" not in changes and not _has_due(context.user_id, task_id):
        changes["due_at"] = _first_occurrence(changes["recurrence"], _today_due(now))
    task = services.task_update(user_id=context.user_id, task_id=task_id, zone=context.zone, **changes)
    return task_summary(task, "updated", context.zone)


TOOLS = [add_task, list_tasks, complete_task, delete_task, update_task]
