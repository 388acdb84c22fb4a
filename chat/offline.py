"""The offline model: the SDK's Model interface, answering from rules instead of an LLM.

It runs through the real Runner and the real tools. Each call reads the conversation input the
Runner sends: the last user message says what to do, and the tool results that follow it in the
same turn say how far it got (call a tool, read its result, maybe call another, then reply).
"""

import json
import re
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from agents import ModelResponse, Usage
from agents.models.interface import Model
from openai.types.responses import (
    Response,
    ResponseCompletedEvent,
    ResponseCreatedEvent,
    ResponseFunctionToolCall,
    ResponseOutputMessage,
    ResponseOutputText,
    ResponseTextDeltaEvent,
)

from chat.phrases import PERIOD_SAID, RECURRENCE_SAID, WEEKDAY, WHEN_SAID

HELP = (
    "I can manage your tasks. Try:\n"
    "• “add buy milk” or “add a task to call mom”\n"
    "• “add buy milk tomorrow 5pm high priority #errands” or “add water plants every monday”\n"
    "• “show my tasks”, “what's pending?”, “what have I completed?”\n"
    "• “what is due this week?”, “what's overdue?”, “show tasks tagged errands”, “show high priority tasks”\n"
    "• “complete task 3” or “mark task 3 as done”\n"
    "• “delete task 3” or “delete the meeting task”\n"
    "• “rename task 3 to Call mom tonight”\n"
    "• “update task 3 description to bring the receipts”\n"
    "• “set task 3 priority to high” or “move task 3 to friday”"
)

DONE_WORDS = r"(?:done|complete|completed|finished)"
TASK_ID = r"(?:task\s+)?(?:number\s+|no\.?\s*)?#?(?P<id>\d+)"
QUOTES = "\"'`\u201c\u201d\u2018\u2019"  # straight and curly quotes

LEVEL = r"(?:high|medium|low)"
# What may follow a title in "add …": tried from the end, each at most once ("every monday" before "monday").
# A separator run is only tried from its first character, so a long run of commas costs linear time, not quadratic.
SEPARATOR = r"(?<![\s,])[\s,]+"
TASK_SUFFIXES = {
    "recurrence": re.compile(rf"{SEPARATOR}(?P<value>{RECURRENCE_SAID})$", re.IGNORECASE),
    "priority": re.compile(
        rf"{SEPARATOR}(?:with\s+|at\s+)?(?:an?\s+)?\(?(?:(?P<value>{LEVEL})[\s-]+priority|priority\s*:?\s*(?P<value2>{LEVEL}))\)?$",
        re.IGNORECASE,
    ),
    # Not "monday" in "every monday"; a run of separators after "every" still counts from its second character.
    "due": re.compile(
        rf"(?<![\s,])(?:(?<!every)(?<!each)|[\s,])[\s,]+(?:(?:due|by)\s+)?(?:on\s+)?(?P<value>{WHEN_SAID})$",
        re.IGNORECASE,
    ),
}
FIELDS = ("due", "priority", "tags", "recurrence")
HASHTAG = re.compile(r"(?:^|\s)#(?P<tag>[^\W\d_][\w-]*)")


@dataclass(frozen=True)
class Call:
    """A tool call to make: its name and arguments."""

    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class Intent:
    """What the user asked for; `plan` turns the tool results so far into the next step."""

    plan: Callable[[list[tuple[Call, Any]]], Call | str]


def _clean_title(text: str) -> str:
    text = text.strip().strip(QUOTES).strip().rstrip(".!?").strip().strip(QUOTES).strip()
    return text[:1].upper() + text[1:]


def _direct(call: Call) -> Intent:
    """One tool call, then a sentence about its result."""
    return Intent(lambda done: _reply(done[-1]) if done else call)


def _by_name(action: str, name: str) -> Intent:
    """List the tasks, find the one whose title matches `name`, then act on it (or ask)."""

    def plan(done: list[tuple[Call, Any]]) -> Call | str:
        if not done:
            return Call("list_tasks", {"status": "pending" if action == "complete_task" else "all"})
        if len(done) > 1:
            return _reply(done[-1])
        matches = _matching(done[0][1], name)
        if len(matches) == 1:
            return Call(action, {"task_id": matches[0]["id"]})
        verb = "complete" if action == "complete_task" else "delete"
        if not matches:
            return f"I couldn't find a task matching “{name}”, so I didn't {verb} anything."
        options = ", ".join(f"task {task['id']} “{task['title']}”" for task in matches[:5])
        if len(matches) > 5:
            options += f" and {len(matches) - 5} more"
        example = f"{verb} task {matches[0]['id']}"
        return f"Several tasks match “{name}”: {options}. Which one should I {verb}? (say e.g. “{example}”)"

    return Intent(plan)


def _matching(tasks: Any, name: str) -> list[dict[str, Any]]:
    if not isinstance(tasks, list):
        return []
    wanted = name.lower()
    exact = [task for task in tasks if wanted in task["title"].lower()]
    if exact:
        return exact
    words = set(re.findall(r"\w+", wanted))
    return [task for task in tasks if words and words <= set(re.findall(r"\w+", task["title"].lower()))]


def _list(status: str) -> Intent:
    return _direct(Call("list_tasks", {"status": status}))


def _rule(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


def _add(text: str) -> Intent:
    text, fields = _task_fields(text)
    title = _clean_title(text)
    if not title or title.lower() in {"task", "a task", "todo", "new task"}:
        return Intent(lambda done: "What should the new task be called? Say e.g. “add buy milk”.")
    return _direct(Call("add_task", {"title": title, **fields}))


def _task_fields(text: str) -> tuple[str, dict[str, Any]]:
    """Take the #tags, and the recurrence, priority and due date said after the title, out of `text`."""
    tags = list(dict.fromkeys(tag.lower() for tag in HASHTAG.findall(text)))
    text = HASHTAG.sub("", text).strip()
    fields: dict[str, Any] = {}
    while found := _last_field(text, fields):
        name, match = found
        fields[name] = (match["value"] or match.groupdict().get("value2") or "").strip()
        text = text[: match.start()].rstrip(" ,;")
    if "priority" in fields:
        fields["priority"] = fields["priority"].lower()
    if tags:
        fields["tags"] = tags
    return re.sub(r"\s+and$", "", text), fields


PENDING_WORDS = r"pending|open|unfinished|incomplete|outstanding|left|remaining|to\s?-?do|not\s+done"
COMPLETED_WORDS = r"completed|done|finished|accomplished"


LIST_LIKE = (
    r"^(?:what|which|show|list|display|view|see|get|give|any(?:thing)?|how\s+many|do\s+i\s+have|is\s+there"
    r"|are\s+there|tell\s+me|due|overdue)\b|\b(?:tasks?|todos?|to-?dos?)\b"
)
TAG_FILTER = re.compile(
    r"(?:\btagged\s+(?:with\s+|as\s+)?#?|\bwith\s+(?:the\s+)?tags?\s+#?|#)"
    r"(?P<tags>[^\W\d_][\w-]*(?:\s*(?:,|\bor\b)\s*#?[^\W\d_][\w-]*)*)",
    re.IGNORECASE,
)
PRIORITY_FILTER = re.compile(
    rf"\b(?P<levels>{LEVEL}(?:\s*(?:,|\bor\b|\band\b)\s*{LEVEL})*)[\s-]+priority\b|\bpriority\s+(?P<level>{LEVEL})\b",
    re.IGNORECASE,
)
DUE_FILTER = re.compile(
    rf"\bdue\s+(?:(?P<prep>on|by|before|until)\s+)?(?P<when>today|tonight|tomorrow|{PERIOD_SAID}|{WEEKDAY})\b",
    re.IGNORECASE,
)


def _last_field(text: str, found: dict[str, Any]) -> tuple[str, re.Match[str]] | None:
    """The first field not found yet (recurrence, priority, due) that ends `text`."""
    for name, pattern in TASK_SUFFIXES.items():
        if name not in found and (match := pattern.search(text)):
            return name, match
    return None


def _filtered_list(command: str) -> Intent | None:
    """A question about some tasks ("what is due this week", "show tasks tagged errands"), or None."""
    arguments: dict[str, Any] = {}
    if match := TAG_FILTER.search(command):
        arguments["tag"] = ",".join(re.findall(r"[^\W\d_][\w-]*", re.sub(r"\bor\b", ",", match["tags"]))).lower()
    if match := PRIORITY_FILTER.search(command):
        arguments["priority"] = ",".join(re.findall(LEVEL, (match["levels"] or match["level"]).lower()))
    if re.search(r"\b(?:overdue|past\s+due)\b", command, re.IGNORECASE):
        arguments["overdue"] = True
    elif match := DUE_FILTER.search(command):
        arguments |= _due_range(match["prep"], match["when"])
    if not arguments:
        return None
    if re.search(rf"\b(?:{PENDING_WORDS})\b", command, re.IGNORECASE):
        arguments["status"] = "pending"
    elif re.search(rf"\b(?:{COMPLETED_WORDS})\b", command, re.IGNORECASE):
        arguments["status"] = "completed"
    elif "due_before" in arguments:
        arguments["status"] = "pending"  # what is due is what is still to do
    return _direct(Call("list_tasks", arguments))


def _due_range(prep: str | None, when: str) -> dict[str, str]:
    """Filter bounds for "due <when>": today and this week include what is overdue, other days are exact."""
    when = " ".join(when.lower().split()).replace("tonight", "today")
    if prep and prep.lower() == "before":
        return {"due_before": f"start of {when}"}
    if prep or when == "today" or when.startswith("this "):
        return {"due_before": f"end of {when}"}
    return {"due_after": f"start of {when}", "due_before": f"end of {when}"}


def _status_question(words: str) -> str:
    """ "What's pending?", "show completed tasks", "pending tasks": a question or a list of that status."""
    return (
        rf"^(?:what|which|show|list|display|view|see|get|give|any|how\s+many)\b.*\b(?:{words})\b"
        rf"|\b(?:{words})\s+(?:tasks?|todos?|to-?dos?|items?)\b"
    )


# First match wins; patterns are tried on the message without its final punctuation.
RULES: list[tuple[re.Pattern[str], Callable[[re.Match[str]], Intent | None]]] = [
    (
        _rule(rf"^(?:set|change|update|make)\s+{TASK_ID}(?:'s)?\s+priority\s+(?:to\s+|as\s+)?(?P<level>{LEVEL}|none)$"),
        lambda m: _direct(Call("update_task", {"task_id": int(m["id"]), "priority": m["level"].lower()})),
    ),
    (
        _rule(rf"^make\s+{TASK_ID}\s+(?P<level>{LEVEL})[\s-]+priority$"),
        lambda m: _direct(Call("update_task", {"task_id": int(m["id"]), "priority": m["level"].lower()})),
    ),
    (
        _rule(
            rf"^(?:(?:move|reschedule|postpone|push)\s+{TASK_ID}\s+(?:to|till|until)"
            rf"|(?:set|change)\s+{TASK_ID.replace('id>', 'id2>')}(?:'s)?\s+due(?:\s+date)?\s+(?:to|as)"
            rf"|{TASK_ID.replace('id>', 'id3>')}\s+is\s+due(?:\s+on|\s+by)?)\s+(?P<when>{WHEN_SAID})$"
        ),
        lambda m: _direct(Call("update_task", {"task_id": int(m["id"] or m["id2"] or m["id3"]), "due": m["when"]})),
    ),
    (
        _rule(
            rf"^(?:update|change|set|edit)\s+(?:the\s+)?(?:description\s+of\s+{TASK_ID}"
            rf"|{TASK_ID.replace('id>', 'id2>')}(?:'s)?\s+description)\s+(?:to|as)\s+(?P<text>.+)$"
        ),
        lambda m: _direct(
            Call("update_task", {"task_id": int(m["id"] or m["id2"]), "description": m["text"].strip(QUOTES)})
        ),
    ),
    (
        _rule(rf"^(?:rename|change|update|edit)\s+{TASK_ID}(?:'s)?(?:\s+title)?\s+(?:to|as|into)\s+(?P<title>.+)$"),
        lambda m: _direct(Call("update_task", {"task_id": int(m["id"]), "title": _clean_title(m["title"])})),
    ),
    (
        _rule(rf"^(?:mark|complete|finish|check\s+off|tick\s+off|close)\s+{TASK_ID}(?:\s+(?:as\s+)?{DONE_WORDS})?$"),
        lambda m: _direct(Call("complete_task", {"task_id": int(m["id"])})),
    ),
    (
        _rule(rf"^{TASK_ID}\s+is\s+{DONE_WORDS}$"),
        lambda m: _direct(Call("complete_task", {"task_id": int(m["id"])})),
    ),
    (
        _rule(rf"^(?:delete|remove|drop|cancel|erase)\s+{TASK_ID}$"),
        lambda m: _direct(Call("delete_task", {"task_id": int(m["id"])})),
    ),
    (
        _rule(
            r"^(?:i\s+(?:need|have|want|must|should)\s+(?:to\s+)?(?:remember\s+to\s+)?|remind\s+me\s+to\s+"
            r"|remember\s+to\s+|don'?t\s+(?:let\s+me\s+)?forget\s+to\s+)(?P<title>.+)$"
        ),
        lambda m: _add(m["title"]),
    ),
    (
        _rule(
            r"^(?:add|create|new|make|put)(?:\s*:\s*|\s+)(?:a\s+|an\s+)?(?:new\s+)?(?:task|todo|to-do|item|reminder)?"
            r"\s*(?:to\s+|:\s*|-\s*|called\s+|named\s+|for\s+)?(?P<title>.*?)(?:\s+to\s+my\s+(?:list|tasks))?$"
        ),
        lambda m: _add(m["title"]),
    ),
    (_rule(LIST_LIKE), lambda m: _filtered_list(m.string)),
    (
        _rule(
            r"^(?:find|search(?:\s+for)?|look\s+for)\s+(?:my\s+)?(?:tasks?\s+)?"
            r"(?:about\s+|with\s+|containing\s+|mentioning\s+|matching\s+|for\s+)?(?:the\s+)?(?P<q>.+?)(?:\s+tasks?)?$"
        ),
        lambda m: _direct(Call("list_tasks", {"search": m["q"].strip(QUOTES)})),
    ),
    (_rule(_status_question(PENDING_WORDS)), lambda m: _list("pending")),
    (_rule(_status_question(COMPLETED_WORDS)), lambda m: _list("completed")),
    (_rule(r"\b(?:tasks?|todos?|to-?dos?|list)\b"), lambda m: _list("all")),
]
NAME_RULES: list[tuple[re.Pattern[str], str]] = [
    (
        _rule(r"^(?:delete|remove|drop|cancel|erase)\s+(?:the\s+|my\s+)?(?P<name>.+?)(?:\s+(?:task|todo))?$"),
        "delete_task",
    ),
    (
        _rule(
            r"^(?:mark|complete|finish|check\s+off|tick\s+off)\s+(?:the\s+|my\s+)?(?P<name>.+?)(?:\s+(?:task|todo))?"
            rf"(?:\s+(?:as\s+)?{DONE_WORDS})?$"
        ),
        "complete_task",
    ),
]


def understand(message: str) -> Intent:
    """The intent of one user message."""
    text = " ".join(message.replace("\u2019", "'").split())
    text = re.sub(r"^(?:please|pls|could you|can you|would you)\s+", "", text, flags=re.IGNORECASE)
    command = text.rstrip(".!?").strip()
    for pattern, action in NAME_RULES:
        # "delete the meeting task" names a task; "delete task 3" is left to RULES below.
        match = pattern.search(command)
        if match and not re.fullmatch(TASK_ID, match["name"], re.IGNORECASE) and not _means_all(command):
            return _by_name(action, match["name"].strip(QUOTES))
    for pattern, build in RULES:
        match = pattern.search(command)
        if match and (intent := build(match)):
            return intent
    return Intent(lambda done: HELP)


def _means_all(command: str) -> bool:
    return bool(re.match(r"^(?:mark|complete|finish|delete|remove)\s+(?:all|every)", command, re.IGNORECASE))


def _reply(step: tuple[Call, Any]) -> str:
    call, result = step
    if isinstance(result, list):
        return _list_reply(call.arguments, result)
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
            details = _details(result, [name for name in FIELDS if name in call.arguments])
            if details:
                return f"Updated task {task_id} “{title}”: {', '.join(details)}."
            return f"Updated task {task_id}: it is now “{title}”."
        case "not_found":
            return f"I couldn't find task {task_id} among your tasks, so nothing changed."
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


def _list_reply(arguments: dict[str, Any], tasks: list[Any]) -> str:
    qualifier = _qualifier(arguments)
    if not tasks:
        return f"You have no {qualifier}."
    lines = []
    for task in tasks:
        details = _details(task, FIELDS, only_set=True)
        line = f"• {task['id']}: {task['title']}{' ✓' if task['completed'] else ''}"
        lines.append(line + (f" — {', '.join(details)}" if details else ""))
    return f"Here are your {qualifier} ({len(tasks)}):\n" + "\n".join(lines)


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


def next_step(items: list[Any]) -> Call | str:
    """From the Runner's input items: the next tool call, or the reply text."""
    items = [_as_dict(item) for item in items]
    last_user = max((i for i, item in enumerate(items) if item.get("role") == "user"), default=None)
    if last_user is None:
        return HELP
    calls = {item["call_id"]: item for item in items[last_user + 1 :] if item.get("type") == "function_call"}
    done = [
        (Call(calls[item["call_id"]]["name"], json.loads(calls[item["call_id"]]["arguments"] or "{}")), _parse(item))
        for item in items[last_user + 1 :]
        if item.get("type") == "function_call_output" and item.get("call_id") in calls
    ]
    return understand(_text(items[last_user].get("content"))).plan(done)


def _as_dict(item: Any) -> dict[str, Any]:
    return item if isinstance(item, dict) else item.model_dump(exclude_unset=True)


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return " ".join(part.get("text", "") for part in content or [] if isinstance(part, dict))


def _parse(output_item: dict[str, Any]) -> Any:
    output = output_item.get("output")
    try:
        return json.loads(output) if isinstance(output, str) else output
    except ValueError:
        return output


class OfflineModel(Model):
    """Understands the commands of HELP and the contract's phrases; needs no network."""

    name = "offline"

    def _output(self, input: Any) -> list[Any]:
        step = next_step(input if isinstance(input, list) else [{"role": "user", "content": input}])
        if isinstance(step, Call):
            call_id = f"call_{uuid.uuid4().hex[:24]}"
            return [
                ResponseFunctionToolCall(
                    id=call_id,
                    call_id=call_id,
                    type="function_call",
                    name=step.name,
                    arguments=json.dumps(step.arguments),
                )
            ]
        return [_message(step)]

    async def get_response(self, system_instructions: Any, input: Any, *args: Any, **kwargs: Any) -> ModelResponse:
        return ModelResponse(output=self._output(input), usage=Usage(), response_id=None)

    async def stream_response(
        self, system_instructions: Any, input: Any, *args: Any, **kwargs: Any
    ) -> AsyncIterator[Any]:
        output = self._output(input)
        sequence = 0
        yield ResponseCreatedEvent(type="response.created", response=_response([]), sequence_number=sequence)
        for index, item in enumerate(output):
            if isinstance(item, ResponseOutputMessage):
                text = cast(ResponseOutputText, item.content[0]).text  # _message writes one output_text part
                for chunk in re.findall(r"\S+\s*|\s+", text):
                    sequence += 1
                    yield ResponseTextDeltaEvent(
                        type="response.output_text.delta",
                        item_id=item.id,
                        output_index=index,
                        content_index=0,
                        delta=chunk,
                        logprobs=[],
                        sequence_number=sequence,
                    )
        yield ResponseCompletedEvent(
            type="response.completed", response=_response(output), sequence_number=sequence + 1
        )


def _message(text: str) -> ResponseOutputMessage:
    return ResponseOutputMessage(
        id=f"msg_{uuid.uuid4().hex[:24]}",
        type="message",
        role="assistant",
        status="completed",
        content=[ResponseOutputText(type="output_text", text=text, annotations=[], logprobs=[])],
    )


def _response(output: list[Any]) -> Response:
    return Response(
        id=f"resp_{uuid.uuid4().hex[:24]}",
        created_at=0,
        model="offline",
        object="response",
        output=output,
        tool_choice="auto",
        tools=[],
        top_p=None,
        parallel_tool_calls=False,
        status="completed",
    )
