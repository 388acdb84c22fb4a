"""ChatKit's Store over chat.services and chat.selectors: it adapts ChatKit's ids and types, nothing more."""

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal
from zoneinfo import ZoneInfo

from chatkit.store import NotFoundError, Store, StoreItemType
from chatkit.types import (
    AssistantMessageContent,
    AssistantMessageItem,
    Attachment,
    InferenceOptions,
    Page,
    ThreadItem,
    ThreadMetadata,
    UserMessageContent,
    UserMessageItem,
    UserMessageTextContent,
)
from django.core.exceptions import ObjectDoesNotExist

from chat import selectors, services
from chat.models import Conversation, Message
from todo_project.asynchronous import database

THREAD_ID = re.compile(r"thr_([1-9][0-9]{0,17})")
ITEM_ID = re.compile(r"msg_([1-9][0-9]{0,17})")
MAX_PAGE_SIZE = 100
UTC = ZoneInfo("UTC")


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


def conversation_of(*, user_id: str, thread_id: str) -> Conversation:
    """The user's Conversation of this thread id; NotFoundError for anything else (another user's included)."""
    with _thread_not_found():
        return selectors.conversation_get(user_id=user_id, conversation_id=_thread_pk(thread_id))


def _thread_pk(thread_id: str) -> int:
    pk = _pk(THREAD_ID, thread_id)
    if pk is None:
        raise selectors.ConversationNotFound(thread_id)
    return pk


@contextmanager
def _thread_not_found() -> Iterator[None]:
    try:
        yield
    except selectors.ConversationNotFound:
        raise NotFoundError("No such thread for this user.") from None


def _after(pattern: re.Pattern[str], after: str | None, what: str) -> int | None:
    """The row id of a page's `after` id; NotFoundError when it is not one of ours."""
    after_pk = None if after is None else _pk(pattern, after)
    if after is not None and after_pk is None:
        raise NotFoundError(f"No such {what}.")
    return after_pk


def _page_args(limit: int, order: str) -> tuple[int, Literal["asc", "desc"]]:
    return max(1, min(limit, MAX_PAGE_SIZE)), "asc" if order == "asc" else "desc"


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


class ConversationStore(Store[ChatKitContext]):
    """ChatKit's Store on Conversation and Message rows, scoped by the context's user id.

    Each async method runs its sync twin (the ORM, through chat.services and chat.selectors)
    with todo_project.asynchronous.database (the connection given back after each)."""

    def generate_thread_id(self, context: ChatKitContext) -> str:
        if context.reserved_thread is None:
            raise RuntimeError("A thread is created by threads.create, for which the view reserves a Conversation.")
        return thread_id_of(context.reserved_thread)

    def generate_item_id(self, item_type: StoreItemType, thread: ThreadMetadata, context: ChatKitContext) -> str:
        # Never a row's id: a user message takes its row's id when stored, an assistant message streams with this.
        return f"draft_{item_type}_{uuid.uuid4().hex}"

    # Threads

    async def load_thread(self, thread_id: str, context: ChatKitContext) -> ThreadMetadata:
        return await database(self._load_thread)(thread_id, context)

    def _load_thread(self, thread_id: str, context: ChatKitContext) -> ThreadMetadata:
        return _thread(conversation_of(user_id=context.user_id, thread_id=thread_id))

    async def save_thread(self, thread: ThreadMetadata, context: ChatKitContext) -> None:
        await database(self._save_thread)(thread, context)

    def _save_thread(self, thread: ThreadMetadata, context: ChatKitContext) -> None:
        """Only the title is ours to change (a Conversation is created by the view's reservation)."""
        conversation = conversation_of(user_id=context.user_id, thread_id=thread.id)
        title = services.conversation_rename(conversation=conversation, title=_storable(thread.title or ""))
        if title != (thread.title or ""):
            thread.title = title or None  # as stored (the SDK answers threads.update with this object)

    async def load_threads(
        self, limit: int, after: str | None, order: str, context: ChatKitContext
    ) -> Page[ThreadMetadata]:
        return await database(self._load_threads)(limit, after, order, context)

    def _load_threads(self, limit: int, after: str | None, order: str, context: ChatKitContext) -> Page[ThreadMetadata]:
        """The user's threads in the order they were created (newest first for "desc"), after a thread id."""
        after_id = _after(THREAD_ID, after, "thread for this user")
        size, order_by = _page_args(limit, order)
        conversations, has_more = selectors.conversation_page(
            user_id=context.user_id, limit=size, order=order_by, after_id=after_id
        )
        return Page(
            data=[_thread(conversation) for conversation in conversations],
            has_more=has_more,
            after=thread_id_of(conversations[-1].pk) if has_more else None,
        )

    async def delete_thread(self, thread_id: str, context: ChatKitContext) -> None:
        await database(self._delete_thread)(thread_id, context)

    def _delete_thread(self, thread_id: str, context: ChatKitContext) -> None:
        with _thread_not_found():
            services.conversation_delete(user_id=context.user_id, conversation_id=_thread_pk(thread_id))

    # Items

    async def load_thread_items(
        self, thread_id: str, after: str | None, limit: int, order: str, context: ChatKitContext
    ) -> Page[ThreadItem]:
        return await database(self._load_thread_items)(thread_id, after, limit, order, context)

    def _load_thread_items(
        self, thread_id: str, after: str | None, limit: int, order: str, context: ChatKitContext
    ) -> Page[ThreadItem]:
        conversation = conversation_of(user_id=context.user_id, thread_id=thread_id)
        after_id = _after(ITEM_ID, after, "item in this thread")
        size, order_by = _page_args(limit, order)
        messages, has_more = selectors.message_page(
            conversation=conversation, limit=size, order=order_by, after_id=after_id
        )
        return Page(
            data=[_item(message, thread_id) for message in messages],
            has_more=has_more,
            after=item_id_of(messages[-1].pk) if has_more else None,
        )

    async def load_item(self, thread_id: str, item_id: str, context: ChatKitContext) -> ThreadItem:
        return await database(self._load_item)(thread_id, item_id, context)

    def _load_item(self, thread_id: str, item_id: str, context: ChatKitContext) -> ThreadItem:
        conversation = conversation_of(user_id=context.user_id, thread_id=thread_id)
        pk = _pk(ITEM_ID, item_id)
        try:
            if pk is None:
                raise selectors.MessageNotFound(item_id)
            return _item(selectors.message_get(conversation=conversation, message_id=pk), thread_id)
        except ObjectDoesNotExist:
            raise NotFoundError("No such item in this thread.") from None

    async def add_thread_item(self, thread_id: str, item: ThreadItem, context: ChatKitContext) -> None:
        await database(self._add_thread_item)(thread_id, item, context)

    def _add_thread_item(self, thread_id: str, item: ThreadItem, context: ChatKitContext) -> None:
        conversation = conversation_of(user_id=context.user_id, thread_id=thread_id)
        role, content = _row_of(item)
        message = services.message_add(conversation=conversation, role=role, content=content)
        if isinstance(item, UserMessageItem):  # the SDK sends this same item on: the client learns the row's id
            item.id, item.created_at = item_id_of(message.pk), message.created_at

    async def save_item(self, thread_id: str, item: ThreadItem, context: ChatKitContext) -> None:
        await database(self._save_item)(thread_id, item, context)

    def _save_item(self, thread_id: str, item: ThreadItem, context: ChatKitContext) -> None:
        conversation = conversation_of(user_id=context.user_id, thread_id=thread_id)
        pk = _pk(ITEM_ID, item.id)
        role, content = _row_of(item)
        if pk is None or not services.message_update(
            conversation=conversation, message_id=pk, role=role, content=content
        ):
            self._add_thread_item(thread_id, item, context)

    async def delete_thread_item(self, thread_id: str, item_id: str, context: ChatKitContext) -> None:
        await database(self._delete_thread_item)(thread_id, item_id, context)

    def _delete_thread_item(self, thread_id: str, item_id: str, context: ChatKitContext) -> None:
        conversation = conversation_of(user_id=context.user_id, thread_id=thread_id)
        pk = _pk(ITEM_ID, item_id)
        if pk is not None:
            services.message_delete(conversation=conversation, message_id=pk)

    # Attachments: not supported

    async def save_attachment(self, attachment: Attachment, context: ChatKitContext) -> None:
        raise NotImplementedError("Attachments are not supported.")

    async def load_attachment(self, attachment_id: str, context: ChatKitContext) -> Attachment:
        raise NotImplementedError("Attachments are not supported.")

    async def delete_attachment(self, attachment_id: str, context: ChatKitContext) -> None:
        raise NotImplementedError("Attachments are not supported.")
