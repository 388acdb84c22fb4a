"""Reads of conversations, always scoped by the owner's user id."""

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Prefetch, QuerySet

from chat.models import Conversation, Message


class ConversationNotFound(ObjectDoesNotExist):
    """No conversation with this id belongs to this user."""

    def __init__(self, conversation_id: object) -> None:
        super().__init__(f"Conversation {conversation_id} not found.")
        self.conversation_id = conversation_id


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
