"""GET /api/<user_id>/events: the user's live stream (events/live.py), behind the API's Bearer JWT,
IsPathUser and throttle; every refusal (401, 403, 400, 429, 503) is answered before the stream opens."""

import logging
import re
import time

from django.conf import settings
from django.db import connection
from django.http import StreamingHttpResponse
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.views import APIView

from events import live
from todo_project import slots
from todo_project.api import ERRORS, VALIDATION_ERROR, ErrorSerializer
from todo_project.asynchronous import event_stream_response
from todo_project.auth import BetterAuthToken, caller_id

logger = logging.getLogger(__name__)
EVENT_ID = re.compile(r"^[0-9]{1,18}$")


@extend_schema(tags=["events"])
class EventStreamView(APIView):
    @extend_schema(
        summary="The live stream of this user's events (Server-Sent Events)",
        description=(
            "Each of the user's changes as a CloudEvent (the `CloudEvent` component, as webhooks carry it) in "
            "an SSE message whose `id` is the event's per-user sequence number, in order; only this user's "
            "events. Without `Last-Event-ID` the stream starts with the next change; with it, the events after "
            "that number are sent first (replayed from the outbox), so a client that reconnects misses nothing. "
            "A comment line (`: heartbeat`) after 15 s of silence. Control events: `reset` "
            "`{reason, last_event_id}` when the events after Last-Event-ID are no longer kept "
            "(`events_pruned`) or the id is unknown (`unknown_event_id`): reload what you show; `end` "
            '`{reason: "token_expired", last_event_id}` when the token expires: reconnect with a fresh '
            "token and that Last-Event-ID; "
            '`{reason: "reconnect", last_event_id}` after EVENTS_STREAM_MAX_SECONDS or when the server shuts '
            "down: reconnect with that Last-Event-ID. Browsers: read it with fetch() (EventSource cannot send "
            "the Authorization header)."
        ),
        parameters=[
            OpenApiParameter(
                "Last-Event-ID",
                {"type": "string", "pattern": "^[0-9]{1,18}$"},
                OpenApiParameter.HEADER,
                description="Resume after this event number (the `id` of the last message received).",
            ),
            OpenApiParameter(
                "last_event_id",
                {"type": "integer", "minimum": 0, "maximum": 10**18 - 1},
                OpenApiParameter.QUERY,
                description="The same, for clients that cannot set the header (the header wins).",
            ),
        ],
        responses={
            (200, "text/event-stream"): OpenApiResponse(
                {
                    "type": "object",
                    "description": "One Server-Sent Event: a CloudEvent of the user's (`id` its sequence "
                    "number), or a control event (`reset`, `end`) whose data is `{reason, last_event_id}`.",
                    "properties": {
                        "id": {"type": "string", "pattern": "^[0-9]+$"},
                        "event": {"type": "string", "enum": ["reset", "end"]},
                        "retry": {"type": "integer"},
                        "data": {
                            "type": "string",
                            "description": "JSON: a CloudEvent, or for `reset` and `end` `{reason, last_event_id}` "
                            "(OpenAPI 3.0 has no contentSchema, so it is given as the x-contentSchema extension).",
                            "x-contentMediaType": "application/json",
                            "x-contentSchema": {
                                "oneOf": [
                                    {"$ref": "#/components/schemas/CloudEvent"},
                                    {
                                        "type": "object",
                                        "properties": {
                                            "reason": {"type": "string", "enum": live.REASONS},
                                            "last_event_id": {"type": "integer", "minimum": 0},
                                        },
                                        "required": ["reason"],
                                        "additionalProperties": False,
                                    },
                                ]
                            },
                        },
                    },
                },
                examples=[
                    OpenApiExample(
                        "Two events",
                        value='retry: 2000\n\nid: 7\ndata: {"specversion": "1.0", "type": "todo.task.created", '
                        '"subject": "tasks/12", "sequence": "00000000000000000007", ...}\n\n: heartbeat\n\n',
                    )
                ],
            ),
            400: VALIDATION_ERROR,
            **ERRORS,
            429: OpenApiResponse(ErrorSerializer, description="API_RATE, or EVENTS_STREAMS_PER_USER streams open"),
            503: OpenApiResponse(ErrorSerializer, description="This server has EVENTS_STREAMS_PER_WORKER streams open"),
        },
    )
    def get(self, request: Request, user_id: str) -> StreamingHttpResponse:
        user = caller_id(request)
        offered = request.headers.get("Last-Event-ID") or request.query_params.get("last_event_id")
        if offered is not None and not EVENT_ID.match(offered.strip()):
            raise ValidationError({"last_event_id": ["Last-Event-ID must be an event number (the id of an event)."]})
        last = live.last_number(user)
        if not connection.in_atomic_block:
            connection.close()  # the stream takes a connection for each read and gives it back
        after, reset = last, None
        if offered is not None:
            after = int(offered)
            if after > last:
                after, reset = last, "unknown_event_id"
        token = request.auth  # the BetterAuthToken that authenticated the request; exp is required
        expires_at = float(token.payload["exp"]) if isinstance(token, BetterAuthToken) else None
        ends_at = time.time() + settings.EVENTS_STREAM_MAX_SECONDS
        with slots.EVENT_STREAMS.slot(user) as held:
            body = held.stream_async(
                live.stream(user, after=after, reset=reset, expires_at=expires_at, ends_at=ends_at)
            )
        return event_stream_response(lambda: body, request, name=f"events-{user}", on_error=_failed)


def _failed(exc: Exception) -> str:
    logger.error("Event stream failed", exc_info=exc)
    return live.control("end", reason="server_error")
