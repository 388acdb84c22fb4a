"""Reads of conversations, always scoped by the owner's user id."""

from typing import Literal, TypeVar

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Model, Prefetch, Q, QuerySet

from chat.models import Conversation, Message

M = TypeVar("M", bound=Model)
Order = Literal["asc", "desc"]
# What was said: the user's messages and the assistant's replies, not its tool calls and their results.
SAID = Q(role=Message.Role.USER) | Q(role=Message.Role.ASSISTANT, tool_calls__isnull=True)


class ConversationNotFound(ObjectDoesNotExist):
    """No conversation with this id belongs to this user."""

    def __init__(self, conversation_id: object) -> None:
        super().__init__(f"Conversation {conversation_id} not found.")
        self.conversation_id = conversation_id


class MessageNotFound(ObjectDoesNotExist):
    """No such message in this conversation."""


def conversation_list(*, user_id: str) -> QuerySet[Conversation]:
    return Conversation.objects.filter(user_id=user_id)


def conversation_get(*, user_id: str, conversation_id: int, with_messages: bool = False) -> Conversation:
    conversations = Conversation.objects.filter(user_id=user_id)
    if with_messages:
        conversations = conversations.prefetch_related(Prefetch("messages", Message.objects.order_by("id")))
    try:
        return conversations.get(pk=conversation_id)
    except Conversation.DoesNotExist:
        raise ConversationNotFound(conversation_id) from None


def message_recent(*, conversation: Conversation, limit: int) -> list[Message]:
    """The conversation's last `limit` messages, oldest first."""
    recent = list(Message.objects.filter(conversation=conversation).order_by("-id")[:limit])
    recent.reverse()
    return recent


def conversation_page(
    *, user_id: str, limit: int, order: Order, after_id: int | None
) -> tuple[list[Conversation], bool]:
    """The user's conversations by id (creation), `limit` after `after_id`, and whether there are more."""
    return _page(Conversation.objects.filter(user_id=user_id), limit=limit, order=order, after_id=after_id)


def message_said(*, conversation: Conversation) -> QuerySet[Message]:
    """The user's messages and the assistant's replies (not its tool calls and their results)."""
    return Message.objects.filter(conversation=conversation, user_id=conversation.user_id).filter(SAID)


def message_page(
    *, conversation: Conversation, limit: int, order: Order, after_id: int | None
) -> tuple[list[Message], bool]:
    """What was said in the conversation by id, `limit` after `after_id`, and whether there is more."""
    return _page(message_said(conversation=conversation), limit=limit, order=order, after_id=after_id)


def message_get(*, conversation: Conversation, message_id: int) -> Message:
    """A message or a reply of the conversation (not a tool call)."""
    try:
        return message_said(conversation=conversation).get(pk=message_id)
    except Message.DoesNotExist:
        raise MessageNotFound(message_id) from None


def _page(rows: QuerySet[M], *, limit: int, order: Order, after_id: int | None) -> tuple[list[M], bool]:
    rows = rows.order_by("id" if order == "asc" else "-id")
    if after_id is not None:
        rows = rows.filter(pk__gt=after_id) if order == "asc" else rows.filter(pk__lt=after_id)
    found = list(rows[: limit + 1])
    return found[:limit], len(found) > limit
