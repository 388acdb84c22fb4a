"""The assistant's function tools: thin adapters over tasks.operations (the MCP tools' operations too).

The user is never a tool argument: it comes from the run context, which the view fills from the
verified token. A tool returns a small JSON object (a string, which the model reads as is), and
records the call on the context so the view can store it and show it in `tool_calls`.

Dates and repetition are read in the user's time zone (the context's, from the X-Timezone header),
by chat.phrases: the same English the offline model listens for.

Task titles and descriptions are the user's text, and the model reads them in these results: a title
that reads as an order must not become a hundred deletions. So one turn completes or deletes at most
CHAT_MAX_DESTRUCTIVE_PER_TURN tasks; a call beyond is held ("needs_confirmation") until the user's next
message says yes (chat.services records and checks that; the model cannot confirm for the user). A task
with subtasks counts with them: deleting it deletes its subtree, completing it completes its open
subtasks. And a list the model reads is bounded by CHAT_TOOL_RESULT_CHARS: a long one is the first
tasks (or lists) and a count.
"""

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from agents import FunctionTool, RunContextWrapper, function_tool
from agents.tool_context import ToolContext
from django.conf import settings

from chat.phrases import DEFAULT_DUE_TIME, clears, local_time, parse_bound, parse_due, parse_recurrence
from tasks import operations
from tasks.operations import ListRef, Priority, Result
from todo_project.asynchronous import database

UTC = ZoneInfo("UTC")


DESTRUCTIVE = {"complete_task": "complete", "delete_task": "delete"}


@dataclass
class ChatContext:
    """What a run knows about its caller, and the tool calls it made.

    `confirmed` holds the (tool, task id) calls the user's message confirmed (held in the turn before);
    `held` collects the calls this turn holds for confirmation."""

    user_id: str
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    zone: ZoneInfo = UTC
    confirmed: frozenset[tuple[str, int]] = frozenset()
    held: list[dict[str, Any]] = field(default_factory=list)
    destructive: int = 0

    def now(self) -> datetime:
        return datetime.now(self.zone)

    def hold(self, name: str, task_id: int, weight: int = 1) -> dict[str, Any] | None:
        """None when this call may run now; else the result that holds it until the user confirms.

        `weight`: how many tasks the call completes or deletes (a task with its subtasks)."""
        if (name, task_id) in self.confirmed:
            return None
        limit, verb = settings.CHAT_MAX_DESTRUCTIVE_PER_TURN, DESTRUCTIVE[name]
        if self.destructive + weight <= limit:
            self.destructive += weight
            return None
        if not any(call == {"name": name, "task_id": task_id} for call in self.held):
            self.held.append({"name": name, "task_id": task_id})
        held: dict[str, Any] = {"task_id": task_id, "status": "needs_confirmation", "limit": limit}
        reach = ""
        if weight > 1:
            held["reaches"] = weight
            reach = f" This one would {verb} {weight} tasks: the task and its subtasks."
        held["error"] = (
            f"Not done: one message may complete or delete at most {limit} tasks.{reach} Nothing changed for "
            f"this task. Ask the user whether to {verb} it; if their next message says yes, call {name} for it again."
        )
        return held


def _task_tool(func: Callable[..., Result]) -> FunctionTool:
    """Run a sync tool through todo_project.asynchronous.database (a connection for the call), answer JSON,
    record the call.

    Failures are results the model can relay (tasks.operations.answer): a task that is not the user's
    is "not_found", exactly as for the REST API."""

    @functools.wraps(func)
    async def tool(ctx: RunContextWrapper[ChatContext], *args: Any, **kwargs: Any) -> str:
        result = await database(operations.answer)(functools.partial(func, ctx, *args, **kwargs))
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


def _today_due(now: datetime) -> datetime:
    return local_time(now.date(), DEFAULT_DUE_TIME, now.tzinfo)


def _held(ctx: RunContextWrapper[ChatContext], name: str, task_id: int) -> dict[str, Any] | None:
    """ChatContext.hold for this call, weighed by the tasks it reaches (its subtasks too)."""
    context = ctx.context
    weight = operations.task_reach(user_id=context.user_id, task_id=task_id, completing=name == "complete_task")
    return context.hold(name, task_id, weight)


LIST_ARG = 'The list: its name (case-insensitive, e.g. "Groceries"; "Inbox" is the Inbox) or its id.'


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
    list: ListRef | None = None,
    parent: int | None = None,
) -> dict[str, Any]:
    """Add a new task to the user's tasks: to their Inbox, or to one of their lists.

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
        list: The list to add it to, by name (case-insensitive) or id, as list_lists shows; the Inbox when left
            out. A list that does not exist answers "not_found": create it (create_list) only if the user asks.
        parent: Make it a subtask of this task (its id, as list_tasks shows); it goes to that task's list.
    """
    context, now = ctx.context, ctx.context.now()
    rule = parse_recurrence(recurrence) if recurrence is not None else None
    due_at = parse_due("due", due, now) if due and not clears(due) else None
    return operations.task_add(
        user_id=context.user_id, title=title, description=description, priority=priority,
        tags=_tag_names(tags or []), due_at=due_at or (_today_due(now) if rule else None), recurrence=rule,
        zone=context.zone, task_list=list, parent=parent,
    )  # fmt: skip


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
    list: ListRef | None = None,
    parent: int | None = None,
) -> Result:
    """List the user's tasks: newest first, or soonest due first when filtering by due date.

    A long list answers {"tasks": the first ones, "shown", "total", "more"}: narrow the filters to see others.

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
        list: Only the tasks of this list, by name (case-insensitive; "Inbox" for the Inbox) or id.
        parent: Only the subtasks of this task (its id); 0 for the tasks that are no subtask.
    """
    context, now = ctx.context, ctx.context.now()
    return operations.task_page(
        user_id=context.user_id, chars=settings.CHAT_TOOL_RESULT_CHARS, status=status,
        priorities=operations.names(priority),
        tags=_tag_names(operations.names(tag)),
        due_before=parse_bound("due_before", due_before, now) if due_before else None,
        due_after=parse_bound("due_after", due_after, now) if due_after else None, overdue=overdue, search=search,
        zone=context.zone, task_list=list, subtasks_of=parent,
    )  # fmt: skip


@_task_tool
def complete_task(ctx: RunContextWrapper[ChatContext], task_id: int) -> dict[str, Any]:
    """Mark one of the user's tasks as completed, with its open subtasks. A repeating task moves to its next
    occurrence (next_due_at).

    Args:
        task_id: The task's id, as shown by list_tasks.
    """
    if held := _held(ctx, "complete_task", task_id):
        return held
    return operations.task_complete(user_id=ctx.context.user_id, task_id=task_id, zone=ctx.context.zone)


@_task_tool
def delete_task(ctx: RunContextWrapper[ChatContext], task_id: int) -> dict[str, Any]:
    """Delete one of the user's tasks, with its subtasks.

    Args:
        task_id: The task's id, as shown by list_tasks.
    """
    if held := _held(ctx, "delete_task", task_id):
        return held
    return operations.task_remove(user_id=ctx.context.user_id, task_id=task_id, zone=ctx.context.zone)


@_task_tool
def update_task(
    ctx: RunContextWrapper[ChatContext],
    task_id: Annotated[int, "The task's id, as shown by list_tasks."],
    title: Annotated[str | None, "The new title, if it changes."] = None,
    description: Annotated[str | None, "The new description, if it changes."] = None,
    priority: Annotated[Priority | None, 'The new priority: "none", "low", "medium" or "high".'] = None,
    tags: Annotated[
        list[str] | None, "The complete new list of tag names (it replaces the old one; [] removes all tags)."
    ] = None,
    due: Annotated[
        str | None, 'The new due date, as for add_task ("tomorrow 5pm", "friday"), or "none" to remove it.'
    ] = None,
    recurrence: Annotated[
        str | None, 'The new repetition, as for add_task ("every monday", "FREQ=MONTHLY"), or "none" to stop it.'
    ] = None,
    list: Annotated[ListRef | None, f"Move it, with its subtasks, to this list. {LIST_ARG}"] = None,
    parent: Annotated[
        int | None, "Make it a subtask of this task (its id; it moves to that task's list), or 0 for a top-level task."
    ] = None,
) -> dict[str, Any]:
    """Change some fields of one of the user's tasks, or move it; leave the others out (null)."""
    context, now = ctx.context, ctx.context.now()
    changes: dict[str, Any] = {"title": title, "description": description, "priority": priority}
    changes = {name: value for name, value in changes.items() if value is not None}
    if tags is not None:
        changes["tags"] = _tag_names(tags)
    if due is not None:
        changes["due_at"] = None if clears(due) else parse_due("due", due, now)
    if recurrence is not None:
        changes["recurrence"] = parse_recurrence(recurrence)
    return operations.task_change(
        user_id=context.user_id, task_id=task_id, changes=changes, zone=context.zone, undated_start=_today_due(now),
        task_list=list, parent=parent,
    )  # fmt: skip


@_task_tool
def create_list(
    ctx: RunContextWrapper[ChatContext],
    name: Annotated[str, 'The new list\'s name, 1 to 100 characters, e.g. "Groceries" (unique, case-insensitively).'],
) -> dict[str, Any]:
    """Create a list (a project) of tasks for the user."""
    return operations.list_add(user_id=ctx.context.user_id, name=name)


@_task_tool
def rename_list(
    ctx: RunContextWrapper[ChatContext],
    list: Annotated[ListRef, LIST_ARG],
    name: Annotated[str, "Its new name, 1 to 100 characters."],
) -> dict[str, Any]:
    """Rename one of the user's lists (the Inbox keeps its name)."""
    return operations.list_rename(user_id=ctx.context.user_id, task_list=list, name=name)


@_task_tool
def list_lists(ctx: RunContextWrapper[ChatContext]) -> Result:
    """The user's lists, the Inbox first: each with its id, name and open_count (its pending tasks)."""
    return operations.list_overview(user_id=ctx.context.user_id, chars=settings.CHAT_TOOL_RESULT_CHARS)


TOOLS = [add_task, list_tasks, complete_task, delete_task, update_task, create_list, rename_list, list_lists]
