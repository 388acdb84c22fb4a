"""The offline model's sentences about tool results: "Added “Buy milk” (task 7), due tomorrow (Thu 26 Nov)."."""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

FIELDS = ("due", "priority", "tags", "recurrence")


def reply(name: str, arguments: dict[str, Any], result: Any) -> str:
    """A sentence about a tool's result, given the tool and the arguments it was called with."""
    if name == "list_lists":
        return _lists_reply(result)
    if isinstance(result, list):
        return _list_reply(arguments, result)
    if isinstance(result, dict) and "tasks" in result:  # a long list: its first tasks
        shown = _list_reply(arguments, result["tasks"], total=result.get("total"))
        return f"{shown}\nThat's the first {result.get('shown')}; narrow it down (a tag, a word) to see others."
    if not isinstance(result, dict):
        return "Something went wrong; please try again."
    task_id, title = result.get("task_id"), result.get("title")
    where = _where(arguments, result)
    match result.get("status"):
        case "created" if name == "create_list":
            return f"Created the list “{result.get('name')}” (list {result.get('list_id')})."
        case "renamed":
            return f"Renamed list {result.get('list_id')} to “{result.get('name')}”."
        case "created":
            details = _details(result, FIELDS, only_set=True)
            if where:
                return f"Added “{title}” {where} (task {task_id})" + "".join(f", {d}" for d in details) + "."
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
            details = _details(result, [field for field in FIELDS if field in arguments])
            if where:
                return f"Moved task {task_id} “{title}” {where}" + "".join(f"; {d}" for d in details) + "."
            if details:
                return f"Updated task {task_id} “{title}”: {', '.join(details)}."
            return f"Updated task {task_id}: it is now “{title}”."
        case "not_found" if "list" in result:
            return _no_list(arguments, result["list"])
        case "not_found":
            return f"I couldn't find task {task_id} among your tasks, so nothing changed."
        case "needs_confirmation":
            limit, reach = result.get("limit"), result.get("reaches")
            weight = f" with its subtasks that is {reach} tasks, and" if reach else ""
            return (
                f"I haven't touched task {task_id}:{weight} one message may complete or delete at most {limit} tasks. "
                "Say “yes” to go ahead."
            )
        case _:
            errors = result.get("errors") or {}
            if errors.get("parent") and arguments.get("parent"):
                return f"I couldn't put it under task {arguments['parent']}: {' '.join(errors['parent'])}"
            reasons = "; ".join(f"{field}: {' '.join(messages)}" for field, messages in errors.items())
            return f"I couldn't do that ({reasons or 'invalid request'})."


def _where(arguments: dict[str, Any], result: dict[str, Any]) -> str:
    """Where the call put the task, when it said: "to your “Work” list", "under task 3"."""
    if arguments.get("parent"):
        return f"under task {arguments['parent']}"
    if "parent" in arguments:
        return "to the top level"
    if "list" not in arguments:
        return ""
    if "list_id" not in result:
        return "to your Inbox"
    return f"to your “{result.get('list', arguments['list'])}” list"


def _no_list(arguments: dict[str, Any], said: Any) -> str:
    which = f"list called “{said}”" if isinstance(said, str) else f"list {said}"
    if "title" in arguments and "task_id" not in arguments:  # adding to it
        return (
            f"You have no {which}, so I didn't add “{arguments['title']}”. Say “create a list called "
            f"{said}” first if you want one, or “show my lists” to see yours."
        )
    return f"You have no {which}, so nothing changed. Say “show my lists” to see yours."


def subtasks_reply(task: dict[str, Any], result: Any, *, pending: bool) -> str | None:
    """ "Left on “Trip” (task 3) (2): …": a task's (open) subtasks; None for a result that is no list."""
    tasks = result.get("tasks") if isinstance(result, dict) else result
    if not isinstance(tasks, list):
        return None
    named = f"“{task['title']}” (task {task['id']})"
    if not tasks:
        return f"{named} has no {'open ' if pending else ''}subtasks."
    total = result.get("total") if isinstance(result, dict) else len(tasks)
    return f"{'Left on' if pending else 'The subtasks of'} {named} ({total}):\n" + "\n".join(_lines(tasks))


def _lists_reply(result: Any) -> str:
    lists = result.get("lists") if isinstance(result, dict) else result
    if not isinstance(lists, list):
        return "Something went wrong; please try again."
    lines = []
    for item in lists:
        named = item["name"] if item.get("inbox") else f"{item['name']} (list {item['id']})"
        lines.append(f"• {named}: {item['open_count']} open" + (", archived" if item.get("archived") else ""))
    more = f"\nThat's the first {len(lists)} of {result.get('total')}." if isinstance(result, dict) else ""
    return f"Your lists ({len(lists)}):\n" + "\n".join(lines) + more


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
    return f"Here are your {qualifier} ({total or len(tasks)}):\n" + "\n".join(_lines(tasks))


def _lines(tasks: list[Any]) -> list[str]:
    lines = []
    for task in tasks:
        details = _details(task, FIELDS, only_set=True)
        line = f"• {task['id']}: {task['title']}{' ✓' if task['completed'] else ''}"
        lines.append(line + (f" — {', '.join(details)}" if details else ""))
    return lines


def _qualifier(arguments: dict[str, Any]) -> str:
    """ "tasks" with the filters in words: "pending high priority tasks tagged #errands due by the end of this week"."""
    words = [arguments[name] for name in ("status",) if arguments.get(name, "all") != "all"]
    if arguments.get("overdue"):
        words.append("overdue")
    if arguments.get("priority"):
        words.append(arguments["priority"].replace(",", " or ") + " priority")
    parent = arguments.get("parent")
    words.append("subtasks" if parent else "top-level tasks" if parent == 0 else "tasks")
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
    if parent:
        words.append(f"of task {parent}")
    if isinstance(said := arguments.get("list"), str) and said.strip().lower() == "inbox":
        words.append("in your Inbox")
    elif said is not None:
        words.append(f"in your “{said}” list" if isinstance(said, str) else f"in list {said}")
    return " ".join(words)
