"""The MCP server: the chat assistant's task and list tools for MCP clients, thin adapters over tasks.operations.

The user is never a tool argument. Over HTTP it is the Bearer token's: the view puts it in the ASGI
scope's state, and the SDK hands each tool that request. Over stdio it is the user the command was
started for, in the server's lifespan state. A tool answers the same JSON as the chat assistant's.
"""

import functools
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, Any, Literal

from asgiref.sync import sync_to_async
from django.core.exceptions import ValidationError
from django.db import close_old_connections
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import Field

from tasks import operations
from tasks.operations import ListRef, Priority
from tasks.selectors import order_keys

NAME = "todo-backend"
USER_ID = "user_id"  # the key of the caller in the ASGI scope's state (HTTP) or the lifespan state (stdio)
CLEARS = {"", "none", "null"}
INSTRUCTIONS = (
    "The user's todo list: add, list (with filters), complete, update and delete tasks; their lists (list_lists, "
    "create_list, rename_list) and subtasks (a task's parent). Task ids come from list_tasks, list ids from "
    "list_lists. Dates are ISO 8601 with a time zone offset, e.g. 2026-12-01T09:00:00+01:00."
)

ISO = "ISO 8601 with an offset, e.g. 2026-12-01T09:00:00+01:00 or 2026-12-01T08:00:00Z"
TaskId = Annotated[int, Field(description="The task's id, as shown by list_tasks.")]
Title = Annotated[str, Field(description='A short title, 1 to 200 characters, e.g. "Buy milk".')]
Description = Annotated[str | None, Field(description="Optional details, up to 1000 characters.")]
PriorityArg = Annotated[Priority | None, Field(description='"none" (the default), "low", "medium" or "high".')]
Tags = Annotated[list[str] | None, Field(description='Tag names without "#", e.g. ["errands", "home"].')]
Due = Annotated[str | None, Field(description=f"When it is due: {ISO}.")]
Recurrence = Annotated[
    str | None,
    Field(description='How it repeats from its due date, as an RRULE, e.g. "FREQ=WEEKLY;BYDAY=MO,WE" (needs a due).'),
]
LIST = 'its name (case-insensitive, e.g. "Groceries"; "Inbox" is the Inbox) or its id, as list_lists shows'
ListArg = Annotated[ListRef | None, Field(description=f"The list to add it to: {LIST}. The Inbox when left out.")]
Parent = Annotated[
    int | None, Field(description="Make it a subtask of this task (its id); it goes to that task's list.")
]
Status = Annotated[
    Literal["all", "pending", "completed"],
    Field(description='"all" (the default), "pending" (not completed yet) or "completed".'),
]


# Plumbing ---------------------------------------------------------------------------------------


def _user_id(ctx: Context) -> str:
    request = ctx.request_context.request
    state = request.scope.get("state", {}) if request is not None else ctx.request_context.lifespan_context
    user_id = state.get(USER_ID)
    if not user_id:
        raise ToolError("No authenticated user.")  # never reached through the view or the command: fail closed
    return user_id


def _on_fresh_connection(work: Callable[[str], Any]) -> Callable[[str], Any]:
    def recycled(user_id: str) -> Any:
        close_old_connections()
        try:
            return work(user_id)
        finally:
            close_old_connections()

    return recycled


async def _run(ctx: Context, work: Callable[[str], Any]) -> CallToolResult:
    """`work(user_id)` on Django's thread for the request, answered as the chat tool's JSON (failures flagged)."""
    user_id = _user_id(ctx)
    if ctx.request_context.request is None:
        # stdio: one long process, without the request cycle that recycles connections over HTTP.
        work = _on_fresh_connection(work)
    result = await sync_to_async(operations.answer, thread_sensitive=True)(functools.partial(work, user_id))
    text = json.dumps(result, ensure_ascii=False)
    return CallToolResult(content=[TextContent(type="text", text=text)], is_error=operations.failed(result))


def _moment(name: str, text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        moment = None
    if moment is None or moment.utcoffset() is None:
        raise ValidationError(
            {name: [f"Give an ISO 8601 date and time with an offset, e.g. 2026-12-01T09:00:00+01:00, not {text!r}."]}
        )
    return moment


# Tools ------------------------------------------------------------------------------------------


async def add_task(
    ctx: Context,
    title: Title,
    description: Description = None,
    priority: PriorityArg = None,
    tags: Tags = None,
    due: Due = None,
    recurrence: Recurrence = None,
    list: ListArg = None,
    parent: Parent = None,
) -> CallToolResult:
    """Add a new task: to the user's Inbox, to one of their lists, or as a subtask of a task."""

    def create(user_id: str) -> dict[str, Any]:
        return operations.task_add(
            user_id=user_id, title=title, description=description, priority=priority, tags=tags or (),
            due_at=_moment("due", due) if due else None, recurrence=recurrence or None, task_list=list, parent=parent,
        )  # fmt: skip

    return await _run(ctx, create)


async def list_tasks(
    ctx: Context,
    status: Status = "all",
    priority: Annotated[
        str | None, Field(description='"none", "low", "medium" or "high"; several separated by commas: "high,medium".')
    ] = None,
    tag: Annotated[str | None, Field(description="A tag name; several separated by commas match any of them.")] = None,
    due_before: Annotated[str | None, Field(description=f"Due before this moment: {ISO}.")] = None,
    due_after: Annotated[str | None, Field(description=f"Due at or after this moment: {ISO}.")] = None,
    overdue: Annotated[bool | None, Field(description="true: pending and past due; false: the others.")] = None,
    search: Annotated[str | None, Field(description="Words to find in the title or description.")] = None,
    ordering: Annotated[
        str | None,
        Field(
            description="Comma-separated fields, '-' for descending: created_at, updated_at, due_at, priority, title, "
            "position. Default: newest first, or soonest due first when filtering by due date."
        ),
    ] = None,
    list: Annotated[ListRef | None, Field(description=f"Only the tasks of this list: {LIST}.")] = None,
    parent: Annotated[
        int | None, Field(description="Only the subtasks of this task (its id); 0: the tasks that are no subtask.")
    ] = None,
) -> CallToolResult:
    """List the user's tasks (at most 100). Filters combine: every one given must hold."""

    def query(user_id: str) -> operations.Result:
        try:
            keys = order_keys(ordering or "")
        except ValueError as exc:
            raise ValidationError({"ordering": [str(exc)]}) from None
        return operations.task_find(
            user_id=user_id, status=status, priorities=operations.names(priority), tags=operations.names(tag),
            due_before=(due_before and _moment("due_before", due_before)) or None,
            due_after=(due_after and _moment("due_after", due_after)) or None,
            overdue=overdue, search=search, ordering=keys, task_list=list, subtasks_of=parent,
        )  # fmt: skip

    return await _run(ctx, query)


async def complete_task(ctx: Context, task_id: TaskId) -> CallToolResult:
    """Mark one of the user's tasks as completed, with its open subtasks. A repeating task moves on to its next
    occurrence (next_due_at)."""

    def complete(user_id: str) -> dict[str, Any]:
        return operations.task_complete(user_id=user_id, task_id=task_id)

    return await _run(ctx, complete)


async def delete_task(ctx: Context, task_id: TaskId) -> CallToolResult:
    """Delete one of the user's tasks, with its subtasks (the app keeps them in its trash for a while)."""
    return await _run(ctx, lambda user_id: operations.task_remove(user_id=user_id, task_id=task_id))


async def update_task(
    ctx: Context,
    task_id: TaskId,
    title: Annotated[str | None, Field(description="The new title.")] = None,
    description: Annotated[str | None, Field(description="The new description.")] = None,
    priority: Annotated[Priority | None, Field(description="The new priority: none, low, medium or high.")] = None,
    tags: Annotated[
        list[str] | None, Field(description="The complete new list of tag names (it replaces the old; [] removes all).")
    ] = None,
    due: Annotated[str | None, Field(description=f'The new due date, {ISO}; or "none" to remove it.')] = None,
    recurrence: Annotated[
        str | None, Field(description='The new repetition as an RRULE, e.g. "FREQ=MONTHLY"; or "none" to stop it.')
    ] = None,
    list: Annotated[ListRef | None, Field(description=f"Move it, with its subtasks, to this list: {LIST}.")] = None,
    parent: Annotated[
        int | None,
        Field(
            description="Make it a subtask of this task (its id; it moves to that task's list); 0: a top-level task."
        ),
    ] = None,
) -> CallToolResult:
    """Change some fields of one of the user's tasks, or move it; leave the others out (null)."""

    def update(user_id: str) -> dict[str, Any]:
        changes: dict[str, Any] = {"title": title, "description": description, "priority": priority, "tags": tags}
        changes = {name: value for name, value in changes.items() if value is not None}
        if due is not None:
            changes["due_at"] = None if due.strip().lower() in CLEARS else _moment("due", due)
        if recurrence is not None:
            changes["recurrence"] = None if recurrence.strip().lower() in CLEARS else recurrence
        return operations.task_change(user_id=user_id, task_id=task_id, changes=changes, task_list=list, parent=parent)

    return await _run(ctx, update)


async def create_list(
    ctx: Context,
    name: Annotated[
        str, Field(description='The name, 1 to 100 characters, e.g. "Groceries" (unique, case-insensitively).')
    ],
    color: Annotated[str | None, Field(description='Its colour as #rrggbb, e.g. "#22aa55".')] = None,
) -> CallToolResult:
    """Create a list (a project) of tasks for the user."""
    return await _run(ctx, lambda user_id: operations.list_add(user_id=user_id, name=name, color=color))


async def rename_list(
    ctx: Context,
    list: Annotated[ListRef, Field(description=f"The list: {LIST}.")],
    name: Annotated[str, Field(description="Its new name, 1 to 100 characters.")],
) -> CallToolResult:
    """Rename one of the user's lists (the Inbox keeps its name)."""
    return await _run(ctx, lambda user_id: operations.list_rename(user_id=user_id, task_list=list, name=name))


async def list_lists(ctx: Context) -> CallToolResult:
    """The user's lists, the Inbox first: each with its id, name and open_count (its pending tasks)."""
    return await _run(ctx, lambda user_id: operations.list_overview(user_id=user_id))


TOOLS: list[tuple[Callable[..., Any], ToolAnnotations]] = [
    (add_task, ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=False)),
    (list_tasks, ToolAnnotations(read_only_hint=True, open_world_hint=False)),
    (complete_task, ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=False)),
    (delete_task, ToolAnnotations(read_only_hint=False, destructive_hint=True, open_world_hint=False)),
    (update_task, ToolAnnotations(read_only_hint=False, destructive_hint=True, open_world_hint=False)),
    (create_list, ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=False)),
    (
        rename_list,
        ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=False),
    ),
    (list_lists, ToolAnnotations(read_only_hint=True, open_world_hint=False)),
]


def build_server(user_id: str | None = None) -> MCPServer:
    """The server with the tools; `user_id` is the stdio caller (over HTTP each request names its own)."""

    @asynccontextmanager
    async def lifespan(server: MCPServer) -> AsyncIterator[dict[str, Any]]:
        yield {USER_ID: user_id}

    server = MCPServer(NAME, instructions=INSTRUCTIONS, lifespan=lifespan)
    for tool, annotations in TOOLS:
        server.add_tool(tool, annotations=annotations)
    return server


@functools.cache
def http_server() -> MCPServer:
    """The one server behind /mcp (its tools are built once per process)."""
    return build_server()
