"""The offline model: the SDK's Model interface, answering from rules instead of an LLM.

It runs through the real Runner and the real tools. Each call reads the conversation input the
Runner sends: the last user message says what to do, and the tool results that follow it in the
same turn say how far it got (call a tool, read its result, maybe call another, then reply).
"""

import json
import re
import uuid
from collections.abc import AsyncIterator
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

from chat.offline.intents import HELP, understand
from chat.offline.plans import Call, confirmation
from chat.phrases import confirms


def next_step(items: list[Any]) -> Call | str:
    """From the Runner's input items: the next tool call, or the reply text.

    A plain yes after a turn that held calls for confirmation makes those calls again (the tools run
    them only if the server, too, read the yes)."""
    items = [_as_dict(item) for item in items]
    users = [i for i, item in enumerate(items) if item.get("role") == "user"]
    if not users:
        return HELP
    last_user, message = users[-1], _text(items[users[-1]].get("content"))
    done = _results(items[last_user + 1 :])
    if confirms(message) and len(users) > 1:
        held = [call for call, result in _results(items[users[-2] + 1 : last_user]) if _held(result)]
        if held:
            return confirmation(held).plan(done)
    return understand(message).plan(done)


def _results(items: list[dict[str, Any]]) -> list[tuple[Call, Any]]:
    """The tool calls among `items` that have their result, in order, each with its result."""
    calls = {item["call_id"]: item for item in items if item.get("type") == "function_call"}
    return [
        (Call(calls[item["call_id"]]["name"], json.loads(calls[item["call_id"]]["arguments"] or "{}")), _parse(item))
        for item in items
        if item.get("type") == "function_call_output" and item.get("call_id") in calls
    ]


def _held(result: Any) -> bool:
    return isinstance(result, dict) and result.get("status") == "needs_confirmation"


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
