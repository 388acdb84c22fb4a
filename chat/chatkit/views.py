"""POST /api/<user_id>/chatkit: the ChatKit protocol, behind the API's Bearer JWT, IsPathUser and throttles.

The body goes to the ChatKit server as is. Requests that run the assistant (threads.create,
threads.add_user_message, threads.retry_after_item) answer Server-Sent Events; the others answer JSON.
"""

import json
from typing import Any, get_args

from asgiref.sync import async_to_sync
from chatkit.errors import ErrorCode
from chatkit.server import StreamingResult
from chatkit.store import NotFoundError
from chatkit.types import (
    ChatKitReq,
    ErrorEvent,
    NonStreamingReq,
    StreamingReq,
    ThreadsAddUserMessageReq,
    ThreadsCreateReq,
)
from django.conf import settings
from django.http import HttpResponse, StreamingHttpResponse
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from pydantic import TypeAdapter
from pydantic import ValidationError as PydanticValidationError
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from chat import services, slots
from chat.chatkit.server import TodoChatKitServer
from chat.chatkit.store import ChatKitContext, conversation_of, user_text
from chat.streaming import event_stream_response, stream_from_thread
from chat.views import CHAT_ERRORS, TIME_ZONE
from todo_project.api import ErrorSerializer, time_zone
from todo_project.auth import caller_id
from todo_project.throttling import ApiRateThrottle, ChatRateThrottle

CHATKIT_REQUEST: TypeAdapter[Any] = TypeAdapter(ChatKitReq)
CHATKIT_TYPES = {kind.model_fields["type"].default for kind in (*get_args(StreamingReq), *get_args(NonStreamingReq))}
TURNS = {"threads.create", "threads.add_user_message", "threads.retry_after_item"}  # run the assistant: SSE
READS_AND_EDITS = {"threads.list", "threads.get_by_id", "items.list", "threads.update", "threads.delete"}
SUPPORTED = TURNS | READS_AND_EDITS | {"items.feedback"}
server = TodoChatKitServer()


# OpenAPI: the supported requests (as chatkit.types defines them) and, loosely, their answers ----------

_STRING = {"type": "string"}
_NULLABLE_STRING = {"type": "string", "nullable": True}
_ORDER = {"type": "string", "enum": ["asc", "desc"], "description": "By creation; default desc (newest first)."}
_PAGE = {
    "limit": {"type": "integer", "nullable": True, "description": "Page size, 1 to 100 (default 20)."},
    "order": _ORDER,
    "after": {**_NULLABLE_STRING, "description": "The last id of the previous page."},
}
_USER_INPUT = {
    "type": "object",
    "required": ["content", "attachments", "inference_options"],
    "properties": {
        "content": {
            "type": "array",
            "description": "The message: text, and @-mentions (tags, stored as @ and their text). "
            f"At most CHAT_MAX_MESSAGE_CHARS ({settings.CHAT_MAX_MESSAGE_CHARS}) characters in all, and not blank: "
            "else the answer is an `error` event and nothing is stored.",
            "items": {
                "oneOf": [
                    {
                        "type": "object",
                        "required": ["type", "text"],
                        "properties": {"type": {"type": "string", "enum": ["input_text"]}, "text": _STRING},
                    },
                    {
                        "type": "object",
                        "required": ["type", "id", "text", "data"],
                        "properties": {
                            "type": {"type": "string", "enum": ["input_tag"]},
                            "id": _STRING,
                            "text": _STRING,
                            "data": {"type": "object"},
                            "group": _NULLABLE_STRING,
                            "interactive": {"type": "boolean"},
                        },
                    },
                ]
            },
        },
        "attachments": {"type": "array", "items": _STRING, "maxItems": 0, "description": "Not supported."},
        "quoted_text": _NULLABLE_STRING,
        "inference_options": {
            "type": "object",
            "description": "Accepted and ignored: the server's model and tools answer.",
            "properties": {
                "tool_choice": {
                    "type": "object",
                    "nullable": True,
                    "required": ["id"],
                    "properties": {"id": _STRING},
                },
                "model": _NULLABLE_STRING,
            },
        },
    },
}


def _request_schema(kind: str, params: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "title": kind,
        "required": ["type", "params"],
        "properties": {
            "type": {"type": "string", "enum": [kind]},
            "params": {"type": "object", "properties": params, **({"required": required} if required else {})},
            "metadata": {"type": "object"},
        },
    }


_THREAD = {"thread_id": _STRING}
_FEEDBACK = {
    **_THREAD,
    "item_ids": {"type": "array", "items": _STRING},
    "kind": {"type": "string", "enum": ["positive", "negative"]},
}
REQUEST_SCHEMA = {
    "oneOf": [
        _request_schema("threads.create", {"input": _USER_INPUT}, ["input"]),
        _request_schema("threads.add_user_message", {**_THREAD, "input": _USER_INPUT}, ["thread_id", "input"]),
        _request_schema("threads.retry_after_item", {**_THREAD, "item_id": _STRING}, ["thread_id", "item_id"]),
        _request_schema("threads.list", _PAGE, []),
        _request_schema("threads.get_by_id", _THREAD, ["thread_id"]),
        _request_schema("items.list", {**_THREAD, **_PAGE}, ["thread_id"]),
        _request_schema("threads.update", {**_THREAD, "title": _STRING}, ["thread_id", "title"]),
        _request_schema("threads.delete", _THREAD, ["thread_id"]),
        _request_schema("items.feedback", _FEEDBACK, ["thread_id", "item_ids", "kind"]),
    ],
    "description": "A ChatKit request (openai-chatkit's ChatKitReq): `type` names it, `params` as the type says. "
    "Ids: threads `thr_<n>`, items `msg_<n>`.",
}
EVENT_DATA = (
    "Each event's data: a ChatKit event (thread.created, thread.item.added/updated/done, thread.updated, "
    "progress_update, stream_options, error)."
)
EVENT_STREAM_EXAMPLE = (
    'data: {"type":"thread.created","thread":{"id":"thr_1","created_at":"…","status":{"type":"active"},'
    '"items":{"data":[],"has_more":false}}}\n\n'
    'data: {"type":"thread.item.done","item":{"type":"user_message","id":"msg_1","thread_id":"thr_1",'
    '"content":[{"type":"input_text","text":"add a task to buy milk"}],…}}\n\n'
    'data: {"type":"progress_update","text":"Adding the task"}\n\n'
    'data: {"type":"thread.item.updated","item_id":"draft_message_…","update":'
    '{"type":"assistant_message.content_part.text_delta","content_index":0,"delta":"Added "}}\n\n'
    'data: {"type":"thread.item.done","item":{"type":"assistant_message","id":"draft_message_…",…}}\n\n'
)


class ChatKitSchema(AutoSchema):
    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        if operation and "requestBody" in operation:
            operation["requestBody"]["required"] = True  # drf-spectacular never marks a raw schema's body required
        return operation


# The view -----------------------------------------------------------------------------------------


class ChatKitView(APIView):
    throttle_classes = [ApiRateThrottle, ChatRateThrottle]
    schema = ChatKitSchema()

    def get_throttles(self) -> list[BaseThrottle]:
        """The API rate for every request; the chat rate too for those that run the assistant."""
        throttles = super().get_throttles()
        if _request_type(self.request) in TURNS:
            return throttles
        return [throttle for throttle in throttles if not isinstance(throttle, ChatRateThrottle)]

    @extend_schema(
        tags=["chat"],
        summary="ChatKit protocol endpoint (for OpenAI ChatKit frontends)",
        description=(
            "The ChatKit protocol of the openai-chatkit SDK, on the same conversations, assistant and tools as "
            "`/chat`. `threads.create`, `threads.add_user_message` and `threads.retry_after_item` answer "
            "Server-Sent Events (`data: <ChatKit event JSON>`); `threads.list`, `threads.get_by_id`, "
            "`items.list`, `threads.update`, `threads.delete` and `items.feedback` answer JSON. A thread of "
            "another user is a 404. Attachments, actions, client tools and transcription are not supported (400)."
        ),
        request={"application/json": REQUEST_SCHEMA},
        parameters=[TIME_ZONE],
        responses={
            (200, "application/json"): OpenApiResponse(
                {"type": "object", "description": "A thread, a page of threads or items, or {}."},
                description="The answer to a request that does not run the assistant",
            ),
            (200, "text/event-stream"): OpenApiResponse(
                {"type": "object", "description": EVENT_DATA},
                description="The events of a turn",
                examples=[OpenApiExample("A new thread", value=EVENT_STREAM_EXAMPLE)],
            ),
            **{code: CHAT_ERRORS[code] for code in (400, 401, 403, 429)},
            404: OpenApiResponse(ErrorSerializer, description="No such thread (or item) for this user"),
        },
    )
    def post(self, request: Request, user_id: str) -> HttpResponse | StreamingHttpResponse:
        zone = time_zone(request)
        body = request.body
        try:
            chatkit_request = CHATKIT_REQUEST.validate_json(body)
        except PydanticValidationError as exc:
            raise ValidationError(_errors(exc)) from None
        if chatkit_request.type not in SUPPORTED:
            raise ValidationError({"type": [f"{chatkit_request.type} is not supported by this server."]})
        user = caller_id(request)
        context = ChatKitContext(user_id=user, zone=zone)
        # A turn holds this thread while the model answers: take a slot first (503 when none is free).
        with slots.Turn(needed=chatkit_request.type in TURNS) as turn:
            try:
                thread_id = getattr(chatkit_request.params, "thread_id", None)
                if thread_id is not None:
                    conversation_of(user_id=user, thread_id=thread_id)  # 404 before anything runs
                if isinstance(chatkit_request, (ThreadsCreateReq, ThreadsAddUserMessageReq)):
                    problem = _message_problem(chatkit_request)
                    if problem:
                        error = ErrorEvent(code="custom", message=problem, allow_retry=False)
                        return event_stream_response(iter([_sse(error)]))
                if isinstance(chatkit_request, ThreadsCreateReq):
                    context.reserved_thread = services.conversation_start(user_id=user).pk
                result = async_to_sync(server.process)(body, context)
            except NotFoundError as exc:
                raise NotFound(str(exc)) from None
            if isinstance(result, StreamingResult):
                return event_stream_response(
                    turn.stream(stream_from_thread(lambda: result, name="chatkit-stream", on_error=_failed))
                )
            return HttpResponse(result.json, content_type="application/json")


def _request_type(request: Request) -> str | None:
    try:
        data = json.loads(request.body)
    except ValueError:
        return None
    kind = data.get("type") if isinstance(data, dict) else None
    return kind if isinstance(kind, str) else None


def _errors(exc: PydanticValidationError) -> dict[str, list[str]]:
    """pydantic's errors by field path ("params.input.content"), as the rest of the API words a 400."""
    errors: dict[str, list[str]] = {}
    for error in exc.errors(include_url=False, include_input=False, include_context=False)[:20]:
        loc = [str(part) for part in error["loc"]]
        if loc and loc[0] in CHATKIT_TYPES:  # the discriminated union names the request type first
            loc = loc[1:]
        field = ".".join(loc) or ("type" if error["type"].startswith("union_tag") else "detail")
        errors.setdefault(field, []).append(error["msg"])
    return errors


def _message_problem(chatkit_request: ThreadsCreateReq | ThreadsAddUserMessageReq) -> str | None:
    """What is wrong with the user's message, said to the user (ChatKit shows an error event's message)."""
    message = chatkit_request.params.input
    if message.attachments:
        return "Attachments are not supported."
    text = user_text(message.content)
    if not text.strip():
        return "The message is empty."
    limit = settings.CHAT_MAX_MESSAGE_CHARS
    if len(text) > limit:
        return f"The message is too long: at most {limit} characters."
    return None


def _sse(event: ErrorEvent) -> bytes:
    return b"data: " + event.model_dump_json(exclude_none=True).encode() + b"\n\n"


def _failed(exc: Exception) -> bytes:
    return _sse(ErrorEvent(code=ErrorCode.STREAM_ERROR, allow_retry=True))  # the SDK has logged it
