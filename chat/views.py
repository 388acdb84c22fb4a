"""The chat API: a thin adapter over chat.services and chat.selectors."""

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from adrf.views import APIView
from django.http import StreamingHttpResponse
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from chat import selectors, services
from chat.serializers import (
    ChatErrorSerializer,
    ChatRequestSerializer,
    ChatResponseSerializer,
    ConversationDetailSerializer,
    ConversationSerializer,
)
from todo_project import slots
from todo_project.api import ERRORS, VALIDATION_ERROR, ErrorSerializer, time_zone, time_zone_parameter
from todo_project.asynchronous import event_stream_response
from todo_project.auth import caller_id
from todo_project.throttling import ApiRateThrottle, ChatRateThrottle

logger = logging.getLogger(__name__)
CHAT_ERRORS = {
    400: VALIDATION_ERROR,
    **ERRORS,
    404: OpenApiResponse(ErrorSerializer, description="No such conversation for this user"),
    429: OpenApiResponse(
        ErrorSerializer,
        description="More than API_RATE requests or CHAT_RATE chat turns for this user (see Retry-After)",
    ),
    502: OpenApiResponse(ChatErrorSerializer, description="The model provider failed"),
    503: OpenApiResponse(
        ChatErrorSerializer,
        description="The model provider is rate-limiting, or this server is answering as many messages as it "
        "can (CHAT_TURNS_PER_WORKER), or as many of this user's as it will at once (CHAT_TURNS_PER_USER): send "
        "it again after Retry-After; or the database or Better Auth's JWKS is unreachable",
    ),
    504: OpenApiResponse(ChatErrorSerializer, description="The model provider timed out"),
}
CONVERSATION_ID = [OpenApiParameter("id", int, OpenApiParameter.PATH, description="The conversation id.")]
TIME_ZONE = time_zone_parameter(
    "The user's IANA time zone (e.g. Europe/Berlin), in which the assistant reads and shows dates "
    "(“tomorrow”, “what is due this week”) and moves repeating tasks. Default UTC."
)


@extend_schema(tags=["chat"])
class ChatView(APIView):
    throttle_classes = [ApiRateThrottle, ChatRateThrottle]

    @extend_schema(
        summary="Send a message to the assistant",
        request=ChatRequestSerializer,
        parameters=[TIME_ZONE],
        responses={200: ChatResponseSerializer, **CHAT_ERRORS},
    )
    async def post(self, request: Request, user_id: str) -> Response:
        body = ChatRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        user = caller_id(request)
        try:
            with slots.CHAT_TURNS.slot(user):
                reply = await services.chat_send(user_id=user, zone=time_zone(request), **body.validated_data)
        except services.ChatTurnFailed as exc:
            return Response({"detail": exc.detail, "conversation_id": exc.conversation_id}, status=exc.status)
        return Response(ChatResponseSerializer(reply).data)


@extend_schema(tags=["chat"])
class ChatStreamView(APIView):
    throttle_classes = [ApiRateThrottle, ChatRateThrottle]

    @extend_schema(
        summary="Send a message, answer as Server-Sent Events",
        description=(
            "Events: `conversation` `{conversation_id}` first; `delta` `{text}` as the reply is written; "
            "`tool_call` `{name, arguments, result}` for each tool the assistant used; then `done` "
            "`{conversation_id, response, tool_calls}`, or `error` `{detail, status, conversation_id}`."
        ),
        request=ChatRequestSerializer,
        parameters=[TIME_ZONE],
        responses={
            (200, "text/event-stream"): OpenApiResponse(
                {"type": "object", "description": "Each event's data: a JSON object (see the description)."},
                examples=[
                    OpenApiExample(
                        "A turn",
                        value='event: conversation\ndata: {"conversation_id": 1}\n\n'
                        'event: tool_call\ndata: {"name": "add_task", "arguments": {"title": "Buy milk"}, '
                        '"result": {"task_id": 7, "status": "created", "title": "Buy milk"}}\n\n'
                        'event: delta\ndata: {"text": "Added "}\n\n'
                        'event: done\ndata: {"conversation_id": 1, "response": "Added “Buy milk”.", '
                        '"tool_calls": [...]}\n\n',
                    )
                ],
            ),
            **CHAT_ERRORS,
        },
    )
    async def post(self, request: Request, user_id: str) -> StreamingHttpResponse:
        body = ChatRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        user = caller_id(request)
        with slots.CHAT_TURNS.slot(user) as turn:  # held until the turn ends, whether the client stays or not
            events = await services.chat_stream(user_id=user, zone=time_zone(request), **body.validated_data)
            stream = turn.stream_async(_server_sent_events(events))
        return event_stream_response(lambda: stream, request, name="chat-stream", on_error=_failed, finish=True)


def _failed(exc: Exception) -> str:
    logger.error("Chat stream failed", exc_info=exc)
    payload = {"detail": "Internal server error.", "status": status.HTTP_500_INTERNAL_SERVER_ERROR}
    return f"event: error\ndata: {json.dumps(payload)}\n\n"


async def _server_sent_events(events: AsyncIterator[tuple[str, Any]]) -> AsyncIterator[str]:
    async for kind, data in events:
        if kind == "conversation":
            payload: Any = {"conversation_id": data}
        elif kind == "delta":
            payload = {"text": data}
        elif kind == "done":
            payload = ChatResponseSerializer(data).data
        elif kind == "error" and isinstance(data, services.ChatTurnFailed):
            payload = {"detail": data.detail, "status": data.status, "conversation_id": data.conversation_id}
        else:
            payload = data
        yield f"event: {kind}\ndata: {json.dumps(payload, ensure_ascii=False)}\n\n"


@extend_schema(tags=["chat"])
@extend_schema_view(
    list=extend_schema(
        summary="List conversations, newest first", responses={200: ConversationSerializer(many=True), **ERRORS}
    ),
    retrieve=extend_schema(
        summary="A conversation with its messages",
        parameters=CONVERSATION_ID,
        responses={200: ConversationDetailSerializer, **ERRORS, 404: CHAT_ERRORS[404]},
    ),
    destroy=extend_schema(
        summary="Delete a conversation",
        parameters=CONVERSATION_ID,
        responses={204: None, **ERRORS, 404: CHAT_ERRORS[404]},
    ),
)
class ConversationViewSet(viewsets.GenericViewSet):
    serializer_class = ConversationSerializer
    lookup_value_regex = r"[0-9]+"

    def list(self, request: Request, user_id: str) -> Response:
        conversations = selectors.conversation_list(user_id=caller_id(request))
        return Response(ConversationSerializer(conversations, many=True).data)

    def retrieve(self, request: Request, user_id: str, pk: str) -> Response:
        conversation = selectors.conversation_get(
            user_id=caller_id(request), conversation_id=int(pk), with_messages=True
        )
        return Response(ConversationDetailSerializer(conversation).data)

    def destroy(self, request: Request, user_id: str, pk: str) -> Response:
        services.conversation_delete(user_id=caller_id(request), conversation_id=int(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)
