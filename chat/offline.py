"""The offline model: the SDK's Model interface, answering from rules instead of an LLM.

It runs through the real Runner and the real tools. Each call reads the conversation input the
Runner sends: the last user message says what to do, and the tool results that follow it in the
same turn say how far it got (call a tool, read its result, maybe call another, then reply).
"""

import json
import re
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

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

HELP = (
    "I can manage your tasks. Try:\n"
    "• “add buy milk” or “add a task to call mom”\n"
    "• “show my tasks”, “what's pending?”, “what have I completed?”\n"
    "• “complete task 3” or “mark task 3 as done”\n"
    "• “delete task 3” or “delete the meeting task”\n"
    "• “rename task 3 to Call mom tonight”\n"
    "• “update task 3 description to bring the receipts”"
)

DONE_WORDS = r"(?:done|complete|completed|finished)"
TASK_ID = r"(?:task\s+)?(?:number\s+|no\.?\s*)?#?(?P<id>\d+)"
QUOTES = "\"'`\u201c\u201d\u2018\u2019"  # straight and curly quotes


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


def _add(title: str) -> Intent:
    title = _clean_title(title)
    if not title or title.lower() in {"task", "a task", "todo", "new task"}:
        return Intent(lambda done: "What should the new task be called? Say e.g. “add buy milk”.")
    return _direct(Call("add_task", {"title": title}))


PENDING_WORDS = r"pending|open|unfinished|incomplete|outstanding|left|remaining|to\s?-?do|not\s+done"
COMPLETED_WORDS = r"completed|done|finished|accomplished"


def _status_question(words: str) -> str:
    """ "What's pending?", "show completed tasks", "pending tasks": a question or a list of that status."""
    return (
        rf"^(?:what|which|show|list|display|view|see|get|give|any|how\s+many)\b.*\b(?:{words})\b"
        rf"|\b(?:{words})\s+(?:tasks?|todos?|to-?dos?|items?)\b"
    )


# First match wins; patterns are tried on the message without its final punctuation.
RULES: list[tuple[re.Pattern[str], Callable[[re.Match[str]], Intent]]] = [
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
        if match:
            return build(match)
    return Intent(lambda done: HELP)


def _means_all(command: str) -> bool:
    return bool(re.match(r"^(?:mark|complete|finish|delete|remove)\s+(?:all|every)", command, re.IGNORECASE))


def _reply(step: tuple[Call, Any]) -> str:
    call, result = step
    if isinstance(result, list):
        status = call.arguments.get("status", "all")
        qualifier = "" if status == "all" else f"{status} "
        if not result:
            return f"You have no {qualifier}tasks."
        lines = [f"• {task['id']}: {task['title']}{' ✓' if task['completed'] else ''}" for task in result]
        return f"Here are your {qualifier}tasks ({len(result)}):\n" + "\n".join(lines)
    if not isinstance(result, dict):
        return "Something went wrong; please try again."
    task_id, title = result.get("task_id"), result.get("title")
    match result.get("status"):
        case "created":
            return f"Added “{title}” to your tasks (task {task_id})."
        case "completed":
            return f"Marked task {task_id} “{title}” as complete. Nice work!"
        case "deleted":
            return f"Deleted task {task_id} “{title}”."
        case "updated":
            return f"Updated task {task_id}: it is now “{title}”."
        case "not_found":
            return f"I couldn't find task {task_id} among your tasks, so nothing changed."
        case _:
            errors = result.get("errors") or {}
            details = "; ".join(f"{field}: {' '.join(messages)}" for field, messages in errors.items())
            return f"I couldn't do that ({details or 'invalid request'})."


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
                for chunk in re.findall(r"\S+\s*|\s+", item.content[0].text):
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
