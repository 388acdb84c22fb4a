"""The assistant's function tools: thin adapters over tasks.services and tasks.selectors.

The user is never a tool argument: it comes from the run context, which the view fills from the
verified token. A tool returns a small JSON object (a string, which the model reads as is), and
records the call on the context so the view can store it and show it in `tool_calls`.
"""

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from agents import FunctionTool, RunContextWrapper, function_tool
from agents.tool_context import ToolContext
from asgiref.sync import sync_to_async
from django.core.exceptions import ValidationError

from tasks import selectors, services
from tasks.exceptions import TaskNotFound

LIST_LIMIT = 100


@dataclass
class ChatContext:
    """What a run knows about its caller, and the tool calls it made."""

    user_id: str
    tool_calls: list[dict[str, Any]] = field(default_factory=list)


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


def _summary(task: Any, status: str) -> dict[str, Any]:
    return {"task_id": task.id, "status": status, "title": task.title}


@_task_tool
def add_task(ctx: RunContextWrapper[ChatContext], title: str, description: str | None = None) -> dict[str, Any]:
    """Add a new task to the user's list.

    Args:
        title: A short title, 1 to 200 characters, e.g. "Buy groceries".
        description: Optional details, up to 1000 characters.
    """
    task = services.task_create(user_id=ctx.context.user_id, title=title, description=description)
    return _summary(task, "created")


@_task_tool
def list_tasks(
    ctx: RunContextWrapper[ChatContext], status: Literal["all", "pending", "completed"] = "all"
) -> list[dict[str, Any]]:
    """List the user's tasks, newest first (at most 100).

    Args:
        status: "all" (default), "pending" (not completed yet) or "completed".
    """
    completed = {"all": None, "pending": False, "completed": True}[status]
    tasks = selectors.task_list(user_id=ctx.context.user_id, completed=completed)[:LIST_LIMIT]
    return [{"id": task.id, "title": task.title, "completed": task.completed} for task in tasks]


@_task_tool
def complete_task(ctx: RunContextWrapper[ChatContext], task_id: int) -> dict[str, Any]:
    """Mark one of the user's tasks as completed.

    Args:
        task_id: The task's id, as shown by list_tasks.
    """
    task = services.task_update(user_id=ctx.context.user_id, task_id=task_id, completed=True)
    return _summary(task, "completed")


@_task_tool
def delete_task(ctx: RunContextWrapper[ChatContext], task_id: int) -> dict[str, Any]:
    """Delete one of the user's tasks.

    Args:
        task_id: The task's id, as shown by list_tasks.
    """
    task = services.task_delete(user_id=ctx.context.user_id, task_id=task_id)
    return _summary(task, "deleted")


@_task_tool
def update_task(
    ctx: RunContextWrapper[ChatContext], task_id: int, title: str | None = None, description: str | None = None
) -> dict[str, Any]:
    """Change the title and/or the description of one of the user's tasks.

    Args:
        task_id: The task's id, as shown by list_tasks.
        title: The new title, if it changes.
        description: The new description, if it changes.
    """
    changes = {name: value for name, value in {"title": title, "description": description}.items() if value is not None}
    if not changes:
        return {"task_id": task_id, "status": "invalid", "errors": {"detail": ["Give a new title or description."]}}
    task = services.task_update(user_id=ctx.context.user_id, task_id=task_id, **changes)
    return _summary(task, "updated")


TOOLS = [add_task, list_tasks, complete_task, delete_task, update_task]
