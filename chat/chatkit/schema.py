"""ChatKit's OpenAPI: the supported requests generated from the SDK's pydantic models, and, loosely, the answers."""

from typing import Any, get_args

from chatkit.types import NonStreamingReq, StreamingReq
from django.conf import settings
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from pydantic import BaseModel, TypeAdapter

from chat.views import CHAT_ERRORS, TIME_ZONE
from todo_project.api import ErrorSerializer

REQUEST_TYPES: dict[str, type[BaseModel]] = {
    kind.model_fields["type"].default: kind for kind in (*get_args(StreamingReq), *get_args(NonStreamingReq))
}
TURNS = {"threads.create", "threads.add_user_message", "threads.retry_after_item"}  # run the assistant: SSE
READS_AND_EDITS = {"threads.list", "threads.get_by_id", "items.list", "threads.update", "threads.delete"}
SUPPORTED = TURNS | READS_AND_EDITS | {"items.feedback"}
COMPONENT = "ChatKit{model}"  # the SDK's model names, in a namespace of their own among our components

_PAGE = {
    "limit": {"description": "Page size, 1 to 100 (default 20)."},
    "order": {"description": "By creation; default desc (newest first)."},
    "after": {"description": "The last id of the previous page."},
}
# What the SDK's models do not say: how this server takes them. By component, then property ("" is the model).
NOTES: dict[str, dict[str, dict[str, Any]]] = {
    "UserMessageInput": {
        "content": {
            "description": "The message: text, and @-mentions (tags, stored as @ and their text). "
            f"At most CHAT_MAX_MESSAGE_CHARS ({settings.CHAT_MAX_MESSAGE_CHARS}) characters in all, and not blank: "
            "else the answer is an `error` event and nothing is stored."
        },
        "attachments": {"maxItems": 0, "description": "Not supported."},
    },
    "InferenceOptions": {"": {"description": "Accepted and ignored: the server's model and tools answer."}},
    "ThreadListParams": _PAGE,
    "ItemsListParams": _PAGE,
}


def openapi_3_0(node: Any) -> Any:
    """pydantic's JSON Schema (2020-12) in OpenAPI 3.0's dialect: `const` as an enum, `null` as `nullable`."""
    if isinstance(node, list):
        return [openapi_3_0(value) for value in node]
    if not isinstance(node, dict):
        return node
    node = {key: openapi_3_0(value) for key, value in node.items()}
    if "const" in node:
        node["enum"] = [node.pop("const")]
    options = node.get("anyOf", [])
    if {"type": "null"} in options:
        others = [option for option in options if option != {"type": "null"}]
        del node["anyOf"]
        if len(others) == 1:
            node.update({"allOf": others} if "$ref" in others[0] else others[0])
        else:
            node["anyOf"] = others
        node["nullable"] = True
    return node


def _request_schemas() -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The request body (one inline schema per supported request type) and the components it refers to."""
    options, definitions = [], {}
    for kind in sorted(SUPPORTED):
        schema = TypeAdapter(REQUEST_TYPES[kind]).json_schema(ref_template=f"#/components/schemas/{COMPONENT}")
        definitions.update(schema.pop("$defs", {}))
        options.append(schema)
    for schema in (*options, *definitions.values()):
        # A tag (`type`, a Literal with a default) is optional to pydantic's model, but its discriminated union
        # (ChatKitReq, a message's content) cannot tell the model without it.
        tags = [name for name, prop in schema.get("properties", {}).items() if "const" in prop]
        if required := [*tags, *(name for name in schema.get("required", []) if name not in tags)]:
            schema["required"] = required
    for model, notes in NOTES.items():
        for prop, note in notes.items():
            (definitions[model]["properties"][prop] if prop else definitions[model]).update(note)
    body = {
        "oneOf": openapi_3_0(options),
        "description": "A ChatKit request (openai-chatkit's ChatKitReq): `type` names it, `params` as the type says. "
        "Ids: threads `thr_<n>`, items `msg_<n>`.",
    }
    return body, {COMPONENT.format(model=name): openapi_3_0(schema) for name, schema in definitions.items()}


REQUEST_SCHEMA, COMPONENTS = _request_schemas()
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
    """The view's operation, with the SDK's models registered as components for the request body to refer to."""

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        for name, schema in COMPONENTS.items():
            self.registry.register_on_missing(ResolvedComponent(name, ResolvedComponent.SCHEMA, schema, name))
        if operation and "requestBody" in operation:
            operation["requestBody"]["required"] = True  # drf-spectacular never marks a raw schema's body required
        return operation


# The answers stay loose: a JSON answer is a Thread, a Page of threads or items, or {} (no single SDK model),
# and each Server-Sent Event's data is one of ThreadStreamEvent, which OpenAPI 3.0 cannot tie to a stream's events.
chatkit_operation = extend_schema(
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
        **{code: CHAT_ERRORS[code] for code in (400, 401, 403, 413, 429, 503)},
        404: OpenApiResponse(ErrorSerializer, description="No such thread (or item) for this user"),
    },
)
