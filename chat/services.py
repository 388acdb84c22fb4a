"""Chat turns: store the user's message, run the agent over the stored history, store the result.

The server keeps nothing between requests: each turn reads the conversation from the database.
The user's message is stored before the model runs, so it survives a provider failure; tool
calls that ran are stored with their results; the assistant's reply is stored only once complete.

Why input items rather than the SDK's Session protocol: the SDK's session persistence reads
stored items back and fingerprints them to deduplicate and recover writes, which wants items
stored verbatim; our Message rows (role, content, tool calls) are meant for people and the admin.
Owning the writes here also puts the transaction boundaries where the rules above need them.
"""

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, cast
from zoneinfo import ZoneInfo

from agents import TResponseInputItem
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from openai.types.responses import EasyInputMessageParam, ResponseFunctionToolCallParam
from openai.types.responses.response_input_item_param import FunctionCallOutput

from chat import selectors
from chat.agent import ChatProviderError, run_turn, stream_turn
from chat.models import Conversation, Message
from chat.phrases import confirms
from chat.tools import ChatContext
from tasks.exceptions import QuotaExceeded
from todo_project.asynchronous import database, run_detached

TITLE_LENGTH = 60  # a title made from the first message
TITLE_MAX_LENGTH = Conversation._meta.get_field("title").max_length
UTC = ZoneInfo("UTC")
logger = logging.getLogger(__name__)


class ChatTurnFailed(Exception):
    """The model provider failed; the user's message (and any tool calls that ran) are stored."""

    def __init__(self, error: ChatProviderError, conversation_id: int) -> None:
        super().__init__(error.detail)
        self.status = error.status
        self.detail = error.detail
        self.conversation_id = conversation_id


@dataclass(frozen=True)
class ChatReply:
    conversation_id: int
    response: str
    tool_calls: list[dict[str, Any]]


def conversation_delete(*, user_id: str, conversation_id: int) -> None:
    selectors.conversation_get(user_id=user_id, conversation_id=conversation_id).delete()


async def chat_send(
    *, user_id: str, message: str, conversation_id: int | None = None, zone: ZoneInfo = UTC
) -> ChatReply:
    """One turn, answered when complete; the tools read dates in `zone`. It runs to its end (the reply and
    the tool calls stored) even when the caller is cancelled: its client went away."""
    conversation, input_items, context = await _turn_begin(
        user_id=user_id, message=message, conversation_id=conversation_id, zone=zone
    )

    async def turn() -> ChatReply:
        try:
            reply = await run_turn(context, input_items)
        except ChatProviderError as exc:
            await _turn_record(conversation=conversation, tool_calls=context.tool_calls, reply=None, held=context.held)
            raise ChatTurnFailed(exc, conversation.pk) from exc
        await _turn_record(conversation=conversation, tool_calls=context.tool_calls, reply=reply, held=context.held)
        return ChatReply(conversation.pk, reply, public_tool_calls(context.tool_calls))

    return await asyncio.shield(run_detached(turn()))


async def chat_stream(
    *, user_id: str, message: str, conversation_id: int | None = None, zone: ZoneInfo = UTC
) -> AsyncIterator[tuple[str, Any]]:
    """The same turn as events: ("conversation", id), ("delta", text), ("tool_call", call), then ("done",
    reply) or ("error", …).

    The conversation is found (or a ConversationNotFound raised) and the message stored when this returns,
    before the first event."""
    conversation, input_items, context = await _turn_begin(
        user_id=user_id, message=message, conversation_id=conversation_id, zone=zone
    )

    async def turn() -> AsyncIterator[tuple[str, Any]]:
        yield "conversation", conversation.pk
        reply: str | None = None
        try:
            async for kind, data in stream_turn(context, input_items):
                if kind == "reply":
                    reply = data
                elif kind == "tool_call":
                    yield kind, public_tool_calls([data])[0]
                else:
                    yield kind, data
        except ChatProviderError as exc:
            await _turn_record(conversation=conversation, tool_calls=context.tool_calls, reply=None, held=context.held)
            yield "error", ChatTurnFailed(exc, conversation.pk)
            return
        await _turn_record(conversation=conversation, tool_calls=context.tool_calls, reply=reply, held=context.held)
        yield "done", ChatReply(conversation.pk, reply or "", public_tool_calls(context.tool_calls))

    return turn()


def public_tool_calls(calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Tool calls as the API shows them: name, arguments, result."""
    return [{"name": call["name"], "arguments": call["arguments"], "result": call["result"]} for call in calls]


def conversation_start(*, user_id: str, title: str = "") -> Conversation:
    """A new conversation, within MAX_CONVERSATIONS_PER_USER."""
    limit = settings.MAX_CONVERSATIONS_PER_USER
    if Conversation.objects.filter(user_id=user_id).count() >= limit:
        raise QuotaExceeded("MAX_CONVERSATIONS_PER_USER", limit, "conversations per user; delete one to start another")
    return Conversation.objects.create(user_id=user_id, title=title)


def conversation_title(*, message: str) -> str:
    """The title of a conversation that this message starts: its first words, on one line."""
    text = " ".join(message.split())
    if len(text) <= TITLE_LENGTH:
        return text
    cut = text[:TITLE_LENGTH].rsplit(" ", 1)[0] or text[:TITLE_LENGTH]
    return f"{cut}…"


def conversation_rename(*, conversation: Conversation, title: str) -> str:
    """Store the title, cut to the column's length; return it as stored."""
    title = title[:TITLE_MAX_LENGTH]
    if title != conversation.title:
        Conversation.objects.filter(pk=conversation.pk).update(title=title)
        conversation.title = title
    return title


def message_add(*, conversation: Conversation, role: str, content: str) -> Message:
    """Store a message (a user's or the assistant's reply); the conversation is updated now. A conversation that
    holds MAX_MESSAGES_PER_CONVERSATION takes no more (a turn under way still records its tool calls and reply)."""
    limit = settings.MAX_MESSAGES_PER_CONVERSATION
    if Message.objects.filter(conversation=conversation).count() >= limit:
        raise QuotaExceeded("MAX_MESSAGES_PER_CONVERSATION", limit, "messages per conversation; start a new one")
    now = timezone.now()
    with transaction.atomic(savepoint=False):
        message = Message.objects.create(
            conversation=conversation, user_id=conversation.user_id, role=role, content=content, created_at=now
        )
        Conversation.objects.filter(pk=conversation.pk).update(updated_at=now)
    return message


def message_update(*, conversation: Conversation, message_id: int, role: str, content: str) -> bool:
    """Replace the content of a message of this role (not a tool call); False when there is none."""
    return bool(
        selectors.message_said(conversation=conversation).filter(pk=message_id, role=role).update(content=content)
    )


def message_delete(*, conversation: Conversation, message_id: int) -> None:
    """Delete a message (nothing when it is not there); the tool calls of its turn stay: they ran."""
    selectors.message_said(conversation=conversation).filter(pk=message_id).delete()


def turn_input(*, conversation: Conversation) -> list[TResponseInputItem]:
    """The model's input: the conversation's last CHAT_HISTORY_LIMIT messages as the SDK's input items."""
    return history_items(selectors.message_recent(conversation=conversation, limit=settings.CHAT_HISTORY_LIMIT))


def turn_context(*, conversation: Conversation, message: str, zone: ZoneInfo = UTC) -> ChatContext:
    """The context of a turn whose user message is `message`.

    The calls the turn before held for confirmation (chat.tools) may run now if this message is a plain
    yes: the user's own words decide, never the model's. Either way they are pending no longer."""
    held = conversation.pending or []
    if held:
        Conversation.objects.filter(pk=conversation.pk).update(pending=None)
        conversation.pending = None
    confirmed = frozenset((call["name"], call["task_id"]) for call in held) if confirms(message) else frozenset()
    return ChatContext(user_id=conversation.user_id, zone=zone, confirmed=confirmed)


def turn_record(
    *,
    conversation: Conversation,
    tool_calls: list[dict[str, Any]],
    reply: str | None,
    held: list[dict[str, Any]] | None = None,
) -> None:
    """Store the tool calls that ran (each with its result), the calls held for the user's yes, and, when
    complete, the reply."""
    user_id, now = conversation.user_id, timezone.now()
    rows = []
    for call in tool_calls:
        ref = {"id": call["call_id"], "name": call["name"]}
        rows.append(
            Message(
                conversation=conversation,
                user_id=user_id,
                role=Message.Role.ASSISTANT,
                content="",
                tool_calls=[{**ref, "arguments": call["arguments"]}],
                created_at=now,
            )
        )
        rows.append(
            Message(
                conversation=conversation,
                user_id=user_id,
                role=Message.Role.TOOL,
                content=json.dumps(call["result"], ensure_ascii=False),
                tool_calls=[ref],
                created_at=now,
            )
        )
    if reply is not None:
        rows.append(
            Message(
                conversation=conversation, user_id=user_id, role=Message.Role.ASSISTANT, content=reply, created_at=now
            )
        )
    changes: dict[str, Any] = {"updated_at": now, "pending": held} if held else {"updated_at": now}
    with transaction.atomic():
        Message.objects.bulk_create(rows)
        Conversation.objects.filter(pk=conversation.pk).update(**changes)


@database
def _turn_begin(
    *, user_id: str, message: str, conversation_id: int | None, zone: ZoneInfo
) -> tuple[Conversation, list[TResponseInputItem], ChatContext]:
    """_begin, then the turn's context."""
    conversation, input_items = _begin(user_id=user_id, message=message, conversation_id=conversation_id)
    return conversation, input_items, turn_context(conversation=conversation, message=message, zone=zone)


_turn_record = database(turn_record)


def _begin(*, user_id: str, message: str, conversation_id: int | None) -> tuple[Conversation, list[TResponseInputItem]]:
    """Find or start the conversation, store the user's message, return the model's input."""
    with transaction.atomic():
        if conversation_id is None:
            conversation = conversation_start(user_id=user_id, title=conversation_title(message=message))
        else:
            conversation = selectors.conversation_get(user_id=user_id, conversation_id=conversation_id)
        message_add(conversation=conversation, role=Message.Role.USER, content=message)
    return conversation, turn_input(conversation=conversation)


def history_items(messages: list[Message]) -> list[TResponseInputItem]:
    """Stored messages as the SDK's input items (Responses format), starting at a user message.

    Cutting the history to its last N messages can leave a tool result without its call at the
    front; providers reject that, so the history starts at the first user message instead."""
    items: list[TResponseInputItem] = []
    first_user: int | None = None
    for message in messages:
        if message.role == Message.Role.USER:
            if first_user is None:
                first_user = len(items)
            items.append(EasyInputMessageParam(role="user", content=message.content))
        elif message.role == Message.Role.TOOL:
            call = cast(list[dict[str, Any]], message.tool_calls)[0]  # a tool row holds the call it answers
            items.append(FunctionCallOutput(type="function_call_output", call_id=call["id"], output=message.content))
        elif message.tool_calls:
            items.extend(
                ResponseFunctionToolCallParam(
                    type="function_call",
                    call_id=call["id"],
                    name=call["name"],
                    arguments=json.dumps(call["arguments"]),
                )
                for call in message.tool_calls
            )
        else:
            items.append(EasyInputMessageParam(role="assistant", content=message.content))
    return items[len(items) if first_user is None else first_user :]
