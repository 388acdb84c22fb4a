"""How an intent gets done: the tool calls to make, one after another, and the sentence at the end.

A plan reads the tool results so far (the calls of this turn, each with its result) and answers the next
call, or the reply. intents.py picks the plan for what the user said."""

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chat.offline.replies import reply, subtasks_reply

QUOTES = "\"'`\u201c\u201d\u2018\u2019"  # straight and curly quotes
MAX_OPTIONS = 5  # the tasks named when several match


@dataclass(frozen=True)
class Call:
    """A tool call to make: its name and arguments."""

    name: str
    arguments: dict[str, Any]


Done = list[tuple[Call, Any]]


@dataclass(frozen=True)
class Intent:
    """What the user asked for; `plan` turns the tool results so far into the next step."""

    plan: Callable[[Done], Call | str]


def said(call: Call, result: Any) -> str:
    """The sentence about one call's result."""
    return reply(call.name, call.arguments, result)


def clean_title(text: str) -> str:
    text = text.strip().strip(QUOTES).strip().rstrip(".!?").strip().strip(QUOTES).strip()
    return text[:1].upper() + text[1:]


def direct(call: Call) -> Intent:
    """One tool call, then a sentence about its result."""
    return Intent(lambda done: said(*done[-1]) if done else call)


def asking(text: str) -> Intent:
    """No call: a question back, or help."""
    return Intent(lambda done: text)


def listing(status: str) -> Intent:
    return direct(Call("list_tasks", {"status": status}))


@dataclass(frozen=True)
class Named:
    """What to do with the task whose title matches a name: the call for it, and the words to ask or refuse with."""

    act: Callable[[dict[str, Any]], Call]
    unmatched: str  # after "I couldn't find a task matching “…”"
    question: str  # when several match; {id} is the first one's
    status: str = "all"  # the tasks to look among
    answer: Callable[[dict[str, Any], Call, Any], str] | None = None  # the sentence at the end (default: said)


def by_name(name: str, named: Named) -> Intent:
    """List the tasks, find the one whose title matches `name`, then make the call for it (or ask which)."""

    def plan(done: Done) -> Call | str:
        if not done:
            return Call("list_tasks", {"status": named.status})
        matches = matching(done[0][1], name)
        if len(done) > 1:
            call, result = done[-1]
            return named.answer(matches[0], call, result) if named.answer else said(call, result)
        if len(matches) == 1:
            return named.act(matches[0])
        if not matches:
            return f"I couldn't find a task matching “{name}”{named.unmatched}"
        options = ", ".join(f"task {task['id']} “{task['title']}”" for task in matches[:MAX_OPTIONS])
        if len(matches) > MAX_OPTIONS:
            options += f" and {len(matches) - MAX_OPTIONS} more"
        return f"Several tasks match “{name}”: {options}. {named.question.format(id=matches[0]['id'])}"

    return Intent(plan)


def acting(action: str) -> Named:
    """Complete or delete the task a name matches."""
    verb = "complete" if action == "complete_task" else "delete"
    return Named(
        act=lambda task: Call(action, {"task_id": task["id"]}),
        unmatched=f", so I didn't {verb} anything.",
        question=f"Which one should I {verb}? (say e.g. “{verb} task {{id}}”)",
        status="pending" if action == "complete_task" else "all",
    )


def subtasks(task_id: int, status: str) -> Call:
    return Call("list_tasks", {"status": status, "parent": task_id})


def subtasks_named(status: str) -> Named:
    """The subtasks (all, or "pending": what is left) of the task a name matches ("what's left on the trip task?")."""
    pending = status == "pending"
    example = "what's left on task {id}" if pending else "show the subtasks of task {id}"
    return Named(
        act=lambda task: subtasks(task["id"], status),
        unmatched=".",
        question=f"Which one do you mean? (say e.g. “{example}”)",
        answer=lambda task, call, result: subtasks_reply(task, result, pending=pending) or said(call, result),
    )


def subtask_of(add: Call) -> Named:
    """Add `add` as a subtask of the task a name matches."""
    return Named(
        act=lambda task: Call(add.name, {**add.arguments, "parent": task["id"]}),
        unmatched=", so I didn't add anything.",
        question="Which one should I add it to? (say e.g. “add a subtask 'call the hotel' to task {id}”)",
    )


def matching(tasks: Any, name: str) -> list[dict[str, Any]]:
    if isinstance(tasks, dict):  # a long list: the first tasks of it
        tasks = tasks.get("tasks")
    if not isinstance(tasks, list):
        return []
    wanted = name.lower()
    exact = [task for task in tasks if wanted in task["title"].lower()]
    if exact:
        return exact
    words = set(re.findall(r"\w+", wanted))
    return [task for task in tasks if words and words <= set(re.findall(r"\w+", task["title"].lower()))]


def confirmation(held: list[Call]) -> Intent:
    """The user said yes to the calls held in the turn before: make each again, then a sentence for each."""

    def plan(done: Done) -> Call | str:
        if len(done) < len(held):
            return held[len(done)]
        return " ".join(said(call, result) for call, result in done)

    return Intent(plan)
