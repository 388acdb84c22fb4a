"""ChatKit (the openai-chatkit SDK) on our tables: a Store over Conversation and Message, and a server
whose responses run the chat API's agent, tools and history.

Mapping
- A thread is a Conversation: id ``thr_<pk>``, its title (None when blank), its created_at.
- A user or an assistant message item is a Message row of that role: id ``msg_<pk>``.
- Tool calls are stored as the chat API stores them (an assistant row with `tool_calls`, then a tool row
  with the result). They are the agent's history rather than something ChatKit shows, so item listings
  skip them; while a response streams, each one is announced by a `progress_update` event.
- Every read and write is scoped by the request's user id: another user's thread is "not found".

Ids: ChatKit asks its store for an id before it stores anything, and our rows get theirs from the
database. So the view reserves the Conversation of a `threads.create` before the SDK asks for the
thread's id; a user message takes its row's id as it is stored (the SDK then sends that very item to
the client); an assistant message streams under a provisional ``draft_…`` id, kept for the rest of
that response, and is ``msg_<pk>`` once reloaded. (Nothing in the protocol addresses an assistant
message by id but feedback, which is not stored.)

Attachments, widgets' actions, client tools and transcription are not supported (the view refuses
those requests); the attachment methods of the Store raise NotImplementedError.
"""

import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from agents import TResponseInputItem
from asgiref.sync import sync_to_async
from chatkit.errors import CustomStreamError
from chatkit.logger import logger as chatkit_logger
from chatkit.server import ChatKitServer
from chatkit.store import NotFoundError, Store, StoreItemType
from chatkit.types import (
    AssistantMessageContent,
    AssistantMessageContentPartAdded,
    AssistantMessageContentPartDone,
    AssistantMessageContentPartTextDelta,
    AssistantMessageItem,
    Attachment,
    FeedbackKind,
    InferenceOptions,
    Page,
    ProgressUpdateEvent,
    StreamOptions,
    ThreadItem,
    ThreadItemAddedEvent,
    ThreadItemDoneEvent,
    ThreadItemUpdatedEvent,
    ThreadMetadata,
    ThreadStreamEvent,
    UserMessageContent,
    UserMessageItem,
    UserMessageTextContent,
)
from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from chat import selectors, services
from chat.agent import ChatProviderError, stream_turn
from chat.models import Conversation, Message
from chat.tools import ChatContext

# openai-chatkit gives its logger a plain-text stderr handler of its own when LOG_LEVEL is set (the variable our
# settings read too): its records would be written twice, once unformatted. They go through ours, as JSON.
for _handler in list(chatkit_logger.handlers):
    chatkit_logger.removeHandler(_handler)

THREAD_ID = re.compile(r"thr_([1-9][0-9]{0,17})")
ITEM_ID = re.compile(r"msg_([1-9][0-9]{0,17})")
MAX_PAGE_SIZE = 100
UTC = ZoneInfo("UTC")
TITLE_LENGTH = Conversation._meta.get_field("title").max_length
# The rows that are ChatKit items: user messages and the assistant's replies (not its tool calls).
ITEM_ROWS = Q(role=Message.Role.USER) | Q(role=Message.Role.ASSISTANT, tool_calls__isnull=True)
PROGRESS = {
    "add_task": "Adding the task",
    "list_tasks": "Looking at your tasks",
    "complete_task": "Completing the task",
    "delete_task": "Deleting the task",
    "update_task": "Updating the task",
}


@dataclass
class ChatKitContext:
    """A request's caller (from the verified token), time zone, and the Conversation reserved for a new thread."""

    user_id: str
    zone: ZoneInfo = UTC
    reserved_thread: int | None = None


def thread_id_of(conversation_pk: int) -> str:
    return f"thr_{conversation_pk}"


def item_id_of(message_pk: int) -> str:
    return f"msg_{message_pk}"


def _pk(pattern: re.Pattern[str], value: object) -> int | None:
    match = pattern.fullmatch(value) if isinstance(value, str) else None
    return int(match[1]) if match else None


def user_text(content: list[UserMessageContent]) -> str:
    """The message as typed; a tag (an @-mention) as "@" and its text, as chatkit's own converter writes it."""
    text = "".join(part.text if isinstance(part, UserMessageTextContent) else f"@{part.text}" for part in content)
    return _storable(text)


def _storable(text: str) -> str:
    return text.replace("\x00", "")  # PostgreSQL cannot store NUL


# Sync (ORM) side: called through sync_to_async, or from the view ------------------------------------


def conversation_get(*, user_id: str, thread_id: str) -> Conversation:
    """The user's Conversation of this thread id; NotFoundError for anything else (another user's included)."""
    pk = _pk(THREAD_ID, thread_id)
    conversation = Conversation.objects.filter(user_id=user_id, pk=pk).first() if pk else None
    if conversation is None:
        raise NotFoundError("No such thread for this user.")
    return conversation


def conversation_reserve(*, user_id: str) -> int:
    """A new, empty Conversation for a threads.create: its pk is the thread's id."""
    return Conversation.objects.create(user_id=user_id).pk


def _limit(limit: int) -> int:
    return max(1, min(limit, MAX_PAGE_SIZE))


def _page(rows: QuerySet[Any], limit: int, order: str, after_pk: int | None) -> tuple[list[Any], bool]:
    rows = rows.order_by("id" if order == "asc" else "-id")
    if after_pk is not None:
        rows = rows.filter(pk__gt=after_pk) if order == "asc" else rows.filter(pk__lt=after_pk)
    found = list(rows[: _limit(limit) + 1])
    return found[: _limit(limit)], len(found) > _limit(limit)


def _thread(conversation: Conversation) -> ThreadMetadata:
    return ThreadMetadata(
        id=thread_id_of(conversation.pk), title=conversation.title or None, created_at=conversation.created_at
    )


def _item(message: Message, thread_id: str) -> ThreadItem:
    item_id, created_at = item_id_of(message.pk), message.created_at
    if message.role == Message.Role.USER:
        return UserMessageItem(
            id=item_id,
            thread_id=thread_id,
            created_at=created_at,
            content=[UserMessageTextContent(text=message.content)],
            inference_options=InferenceOptions(),
        )
    return AssistantMessageItem(
        id=item_id, thread_id=thread_id, created_at=created_at, content=[AssistantMessageContent(text=message.content)]
    )


def _row_of(item: ThreadItem) -> tuple[str, str]:
    """The role and content of the row that stores this item."""
    if isinstance(item, UserMessageItem):
        if item.attachments:
            raise NotImplementedError("Attachments are not supported.")
        return Message.Role.USER, user_text(item.content)
    if isinstance(item, AssistantMessageItem):
        return Message.Role.ASSISTANT, _storable("".join(part.text for part in item.content))
    raise NotImplementedError(f"{item.type} items are not stored: only user and assistant messages are.")


def _item_rows(conversation: Conversation) -> QuerySet[Message]:
    return Message.objects.filter(conversation=conversation, user_id=conversation.user_id).filter(ITEM_ROWS)


def _history(*, user_id: str, thread_id: str) -> list[TResponseInputItem]:
    """The agent's input, exactly as the chat API builds it (tool calls and results included)."""
    conversation = conversation_get(user_id=user_id, thread_id=thread_id)
    return services.history_items(
        selectors.message_recent(conversation=conversation, limit=settings.CHAT_HISTORY_LIMIT)
    )


def _store_tool_calls(*, user_id: str, thread_id: str, context: ChatContext) -> None:
    """The tool calls that ran, each with its result, stored as the chat API stores them."""
    conversation = conversation_get(user_id=user_id, thread_id=thread_id)
    services._finish(conversation, context, reply=None)  # the reply comes as an item (see respond)


class ConversationStore(Store[ChatKitContext]):
    """ChatKit's Store on Conversation and Message rows, scoped by the context's user id."""

    def generate_thread_id(self, context: ChatKitContext) -> str:
        if context.reserved_thread is None:
            raise RuntimeError("A thread is created by threads.create, for which the view reserves a Conversation.")
        return thread_id_of(context.reserved_thread)

    def generate_item_id(self, item_type: StoreItemType, thread: ThreadMetadata, context: ChatKitContext) -> str:
        # Never a row's id: a user message takes its row's id when stored, an assistant message streams with this.
        return f"draft_{item_type}_{uuid.uuid4().hex}"

    # Threads

    async def load_thread(self, thread_id: str, context: ChatKitContext) -> ThreadMetadata:
        return await sync_to_async(self._load_thread)(thread_id, context)

    def _load_thread(self, thread_id: str, context: ChatKitContext) -> ThreadMetadata:
        return _thread(conversation_get(user_id=context.user_id, thread_id=thread_id))

    async def save_thread(self, thread: ThreadMetadata, context: ChatKitContext) -> None:
        await sync_to_async(self._save_thread)(thread, context)

    def _save_thread(self, thread: ThreadMetadata, context: ChatKitContext) -> None:
        """Only the title is ours to change (a Conversation is created by the view's reservation)."""
        conversation = conversation_get(user_id=context.user_id, thread_id=thread.id)
        title = _storable(thread.title or "")[:TITLE_LENGTH]
        if title != conversation.title:
            Conversation.objects.filter(pk=conversation.pk).update(title=title)
        if title != (thread.title or ""):
            thread.title = title or None  # as stored (the SDK answers threads.update with this object)

    async def load_threads(
        self, limit: int, after: str | None, order: str, context: ChatKitContext
    ) -> Page[ThreadMetadata]:
        return await sync_to_async(self._load_threads)(limit, after, order, context)

    def _load_threads(self, limit: int, after: str | None, order: str, context: ChatKitContext) -> Page[ThreadMetadata]:
        """The user's threads in the order they were created (newest first for "desc"), after a thread id."""
        after_pk = None if after is None else _pk(THREAD_ID, after)
        if after is not None and after_pk is None:
            raise NotFoundError("No such thread for this user.")
        conversations, has_more = _page(Conversation.objects.filter(user_id=context.user_id), limit, order, after_pk)
        return Page(
            data=[_thread(conversation) for conversation in conversations],
            has_more=has_more,
            after=thread_id_of(conversations[-1].pk) if has_more else None,
        )

    async def delete_thread(self, thread_id: str, context: ChatKitContext) -> None:
        await sync_to_async(self._delete_thread)(thread_id, context)

    def _delete_thread(self, thread_id: str, context: ChatKitContext) -> None:
        conversation_get(user_id=context.user_id, thread_id=thread_id).delete()

    # Items

    async def load_thread_items(
        self, thread_id: str, after: str | None, limit: int, order: str, context: ChatKitContext
    ) -> Page[ThreadItem]:
        return await sync_to_async(self._load_thread_items)(thread_id, after, limit, order, context)

    def _load_thread_items(
        self, thread_id: str, after: str | None, limit: int, order: str, context: ChatKitContext
    ) -> Page[ThreadItem]:
        conversation = conversation_get(user_id=context.user_id, thread_id=thread_id)
        after_pk = None if after is None else _pk(ITEM_ID, after)
        if after is not None and after_pk is None:
            raise NotFoundError("No such item in this thread.")
        messages, has_more = _page(_item_rows(conversation), limit, order, after_pk)
        return Page(
            data=[_item(message, thread_id) for message in messages],
            has_more=has_more,
            after=item_id_of(messages[-1].pk) if has_more else None,
        )

    async def load_item(self, thread_id: str, item_id: str, context: ChatKitContext) -> ThreadItem:
        return await sync_to_async(self._load_item)(thread_id, item_id, context)

    def _load_item(self, thread_id: str, item_id: str, context: ChatKitContext) -> ThreadItem:
        conversation = conversation_get(user_id=context.user_id, thread_id=thread_id)
        pk = _pk(ITEM_ID, item_id)
        message = _item_rows(conversation).filter(pk=pk).first() if pk else None
        if message is None:
            raise NotFoundError("No such item in this thread.")
        return _item(message, thread_id)

    async def add_thread_item(self, thread_id: str, item: ThreadItem, context: ChatKitContext) -> None:
        await sync_to_async(self._add_thread_item)(thread_id, item, context)

    def _add_thread_item(self, thread_id: str, item: ThreadItem, context: ChatKitContext) -> None:
        conversation = conversation_get(user_id=context.user_id, thread_id=thread_id)
        role, content = _row_of(item)
        now = timezone.now()
        with transaction.atomic():
            message = Message.objects.create(
                conversation=conversation, user_id=context.user_id, role=role, content=content, created_at=now
            )
            Conversation.objects.filter(pk=conversation.pk).update(updated_at=now)
        if isinstance(item, UserMessageItem):  # the SDK sends this same item on: the client learns the row's id
            item.id, item.created_at = item_id_of(message.pk), message.created_at

    async def save_item(self, thread_id: str, item: ThreadItem, context: ChatKitContext) -> None:
        await sync_to_async(self._save_item)(thread_id, item, context)

    def _save_item(self, thread_id: str, item: ThreadItem, context: ChatKitContext) -> None:
        conversation = conversation_get(user_id=context.user_id, thread_id=thread_id)
        pk = _pk(ITEM_ID, item.id)
        role, content = _row_of(item)
        if pk is None or not _item_rows(conversation).filter(pk=pk, role=role).update(content=content):
            self._add_thread_item(thread_id, item, context)

    async def delete_thread_item(self, thread_id: str, item_id: str, context: ChatKitContext) -> None:
        await sync_to_async(self._delete_thread_item)(thread_id, item_id, context)

    def _delete_thread_item(self, thread_id: str, item_id: str, context: ChatKitContext) -> None:
        """Delete the item's row (nothing when it is not there). The tool calls of its turn stay: they ran."""
        conversation = conversation_get(user_id=context.user_id, thread_id=thread_id)
        pk = _pk(ITEM_ID, item_id)
        if pk is not None:
            _item_rows(conversation).filter(pk=pk).delete()

    # Attachments: not supported

    async def save_attachment(self, attachment: Attachment, context: ChatKitContext) -> None:
        raise NotImplementedError("Attachments are not supported.")

    async def load_attachment(self, attachment_id: str, context: ChatKitContext) -> Attachment:
        raise NotImplementedError("Attachments are not supported.")

    async def delete_attachment(self, attachment_id: str, context: ChatKitContext) -> None:
        raise NotImplementedError("Attachments are not supported.")


class TodoChatKitServer(ChatKitServer[ChatKitContext]):
    """Answers a user message with the chat API's agent: same model, tools, history and error messages."""

    def __init__(self) -> None:
        super().__init__(store=ConversationStore())

    def get_stream_options(self, thread: ThreadMetadata, context: ChatKitContext) -> StreamOptions:
        # The turn runs to its end and is stored even when the client goes away, as in the chat API's stream.
        return StreamOptions(allow_cancel=False)

    async def add_feedback(
        self, thread_id: str, item_ids: list[str], feedback: FeedbackKind, context: ChatKitContext
    ) -> None:
        await self.store.load_thread(thread_id, context)  # the user's thread, or not found; feedback is not stored

    async def respond(
        self, thread: ThreadMetadata, input_user_message: UserMessageItem | None, context: ChatKitContext
    ) -> AsyncIterator[ThreadStreamEvent]:
        """Run the agent over the stored history (the user's message is stored already) and stream its reply.

        The events: `progress_update` for each tool call; the assistant message (added, a content part,
        text deltas, the part done, the item done, which the SDK stores). A provider failure is an
        `error` event with the chat API's message; the tool calls that ran are stored either way."""
        if input_user_message is not None and not thread.title:
            thread.title = services._title(user_text(input_user_message.content)) or None  # the SDK saves it
        user_id = context.user_id
        input_items = await sync_to_async(_history)(user_id=user_id, thread_id=thread.id)
        chat_context = ChatContext(user_id=user_id, zone=context.zone)
        message = AssistantMessageItem(
            id=self.store.generate_item_id("message", thread, context),
            thread_id=thread.id,
            created_at=timezone.now(),
            content=[],
        )
        streaming, reply = False, ""
        try:
            async for kind, data in stream_turn(chat_context, input_items):
                if kind == "delta":
                    if not streaming:
                        streaming = True
                        yield ThreadItemAddedEvent(item=message)
                        yield ThreadItemUpdatedEvent(
                            item_id=message.id,
                            update=AssistantMessageContentPartAdded(
                                content_index=0, content=AssistantMessageContent(text="")
                            ),
                        )
                    yield ThreadItemUpdatedEvent(
                        item_id=message.id, update=AssistantMessageContentPartTextDelta(content_index=0, delta=data)
                    )
                elif kind == "tool_call":
                    yield ProgressUpdateEvent(text=PROGRESS.get(data["name"], f"Running {data['name']}"))
                elif kind == "reply":
                    reply = data
        except ChatProviderError as exc:
            if chat_context.tool_calls:
                await sync_to_async(_store_tool_calls)(user_id=user_id, thread_id=thread.id, context=chat_context)
            raise CustomStreamError(exc.detail, allow_retry=True) from exc
        if chat_context.tool_calls:
            await sync_to_async(_store_tool_calls)(user_id=user_id, thread_id=thread.id, context=chat_context)
        content = AssistantMessageContent(text=reply)
        if streaming:
            yield ThreadItemUpdatedEvent(
                item_id=message.id, update=AssistantMessageContentPartDone(content_index=0, content=content)
            )
        yield ThreadItemDoneEvent(item=message.model_copy(update={"content": [content]}))
