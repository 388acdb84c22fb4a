"""The offline model's sentences about tool results: "Added “Buy milk” (task 7), due tomorrow (Thu 26 Nov)."."""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

FIELDS = ("due", "priority", "tags", "recurrence")


def reply(arguments: dict[str, Any], result: Any) -> str:
    """A sentence about a tool's result, given the arguments it was called with."""
    if isinstance(result, list):
        return _list_reply(arguments, result)
    if isinstance(result, dict) and "tasks" in result:  # a long list: its first tasks
        shown = _list_reply(arguments, result["tasks"], total=result.get("total"))
        return f"{shown}\nThat's the first {result.get('shown')}; narrow it down (a tag, a word) to see others."
    if not isinstance(result, dict):
        return "Something went wrong; please try again."
    task_id, title = result.get("task_id"), result.get("title")
    match result.get("status"):
        case "created":
            details = _details(result, FIELDS, only_set=True)
            if details:
                return f"Added “{title}” (task {task_id}), {', '.join(details)}."
            return f"Added “{title}” to your tasks (task {task_id})."
        case "completed":
            text = f"Marked task {task_id} “{title}” as complete. Nice work!"
            if result.get("next_due_at"):
                text += f" It repeats {result.get('repeats')}: next {_due_text(result['next_due_at'])}."
            return text
        case "deleted":
            return f"Deleted task {task_id} “{title}”."
        case "updated":
            details = _details(result, [name for name in FIELDS if name in arguments])
            if details:
                return f"Updated task {task_id} “{title}”: {', '.join(details)}."
            return f"Updated task {task_id}: it is now “{title}”."
        case "not_found":
            return f"I couldn't find task {task_id} among your tasks, so nothing changed."
        case "needs_confirmation":
            limit = result.get("limit")
            return (
                f"I haven't touched task {task_id}: one message may complete or delete at most {limit} tasks. "
                "Say “yes” to go ahead."
            )
        case _:
            errors = result.get("errors") or {}
            reasons = "; ".join(f"{field}: {' '.join(messages)}" for field, messages in errors.items())
            return f"I couldn't do that ({reasons or 'invalid request'})."


def _details(task: dict[str, Any], fields: Iterable[str], *, only_set: bool = False) -> list[str]:
    """Phrases for a task's due date, priority, tags and repetition, e.g. "due tomorrow (Thu 26 Nov)"."""
    due_at, priority = task.get("due_at"), task.get("priority", "none")
    tags, repeats = task.get("tags"), task.get("repeats")
    phrases = {
        "due": _due_text(due_at) if due_at else "no due date",
        "priority": f"{priority} priority" if priority != "none" else "no priority",
        "tags": " ".join(f"#{tag}" for tag in tags) if tags else "no tags",
        "recurrence": f"repeats {repeats}" if repeats else "does not repeat",
    }
    present = {"due": due_at, "priority": priority != "none", "tags": tags, "recurrence": repeats}
    return [phrases[name] for name in fields if present[name] or not only_set]


def _due_text(value: str) -> str:
    """ "due tomorrow (Thu 26 Nov)", "due Fri 27 Nov, 17:00": in the offset the tool gave (the user's zone)."""
    try:
        due = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return f"due {value}"
    today = datetime.now(due.tzinfo).date()
    label = f"{due:%a} {due.day} {due:%b}" + (f" {due.year}" if due.year != today.year else "")
    if (due.hour, due.minute) != (23, 59):  # the tools' time for a day without one
        label += f", {due:%H:%M}"
    relative = {-1: "yesterday", 0: "today", 1: "tomorrow"}.get((due.date() - today).days)
    return f"due {relative} ({label})" if relative else f"due {label}"


def _list_reply(arguments: dict[str, Any], tasks: list[Any], total: int | None = None) -> str:
    qualifier = _qualifier(arguments)
    if not tasks:
        return f"You have no {qualifier}."
    lines = []
    for task in tasks:
        details = _details(task, FIELDS, only_set=True)
        line = f"• {task['id']}: {task['title']}{' ✓' if task['completed'] else ''}"
        lines.append(line + (f" — {', '.join(details)}" if details else ""))
    return f"Here are your {qualifier} ({total or len(tasks)}):\n" + "\n".join(lines)


def _qualifier(arguments: dict[str, Any]) -> str:
    """ "tasks" with the filters in words: "pending high priority tasks tagged #errands due by the end of this week"."""
    words = [arguments[name] for name in ("status",) if arguments.get(name, "all") != "all"]
    if arguments.get("overdue"):
        words.append("overdue")
    if arguments.get("priority"):
        words.append(arguments["priority"].replace(",", " or ") + " priority")
    words.append("tasks")
    if arguments.get("tag"):
        words.append("tagged " + " or ".join(f"#{tag}" for tag in arguments["tag"].split(",")))
    before, after = arguments.get("due_before"), arguments.get("due_after")
    if before and after and before.removeprefix("end of ") == after.removeprefix("start of "):
        words.append(f"due {after.removeprefix('start of ')}")
    elif before:
        words.append(f"due by the {before}" if before.startswith("end of ") else f"due before {before}")
    elif after:
        words.append(f"due from {after}")
    if arguments.get("search"):
        words.append(f"matching “{arguments['search']}”")
    return " ".join(words)
