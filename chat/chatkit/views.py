"""POST /api/<user_id>/chatkit: the ChatKit protocol, behind the API's Bearer JWT, IsPathUser and throttles.

The body goes to the ChatKit server as is. Requests that run the assistant (threads.create,
threads.add_user_message, threads.retry_after_item) answer Server-Sent Events; the others answer JSON.
"""

import json
from collections.abc import AsyncIterator
from typing import Any

from adrf.views import APIView
from chatkit.errors import ErrorCode
from chatkit.server import StreamingResult
from chatkit.store import NotFoundError
from chatkit.types import ChatKitReq, ErrorEvent, ThreadsAddUserMessageReq, ThreadsCreateReq
from django.conf import settings
from django.http import HttpResponse, StreamingHttpResponse
from pydantic import TypeAdapter
from pydantic import ValidationError as PydanticValidationError
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from chat import services
from chat.chatkit.schema import REQUEST_TYPES, SUPPORTED, TURNS, ChatKitSchema, chatkit_operation
from chat.chatkit.server import TodoChatKitServer
from chat.chatkit.store import ChatKitContext, conversation_of, user_text
from todo_project import slots
from todo_project.api import time_zone
from todo_project.asynchronous import database, event_stream_response
from todo_project.auth import caller_id
from todo_project.throttling import ApiRateThrottle, ChatRateThrottle

CHATKIT_REQUEST: TypeAdapter[Any] = TypeAdapter(ChatKitReq)
server = TodoChatKitServer()


class ChatKitView(APIView):
    throttle_classes = [ApiRateThrottle, ChatRateThrottle]
    schema = ChatKitSchema()

    def get_throttles(self) -> list[BaseThrottle]:
        """The API rate for every request; the chat rate too for those that run the assistant."""
        throttles = super().get_throttles()
        if _request_type(self.request) in TURNS:
            return throttles
        return [throttle for throttle in throttles if not isinstance(throttle, ChatRateThrottle)]

    @chatkit_operation
    async def post(self, request: Request, user_id: str) -> HttpResponse | StreamingHttpResponse:
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
        # A turn takes a slot first (503 when none is free), held until its stream ends.
        with slots.CHAT_TURNS.slot(user, needed=chatkit_request.type in TURNS) as turn:
            try:
                thread_id = getattr(chatkit_request.params, "thread_id", None)
                if thread_id is not None:
                    await database(conversation_of)(user_id=user, thread_id=thread_id)  # 404 before anything runs
                if isinstance(chatkit_request, (ThreadsCreateReq, ThreadsAddUserMessageReq)):
                    problem = _message_problem(chatkit_request)
                    if problem:
                        error = ErrorEvent(code="custom", message=problem, allow_retry=False)
                        return _one_event(_sse(error), request)
                if isinstance(chatkit_request, ThreadsCreateReq):
                    conversation = await database(services.conversation_start)(user_id=user)
                    context.reserved_thread = conversation.pk
                result = await server.process(body, context)
            except NotFoundError as exc:
                raise NotFound(str(exc)) from None
            if isinstance(result, StreamingResult):
                stream = turn.stream_async(aiter(result))
                return event_stream_response(
                    lambda: stream, request, name="chatkit-stream", on_error=_failed, finish=True
                )
            return HttpResponse(result.json, content_type="application/json")


def _one_event(event: bytes, request: Request) -> StreamingHttpResponse:
    async def one() -> AsyncIterator[bytes]:
        yield event

    return event_stream_response(one, request, name="chatkit-error", on_error=_failed)


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
        if loc and loc[0] in REQUEST_TYPES:  # the discriminated union names the request type first
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
