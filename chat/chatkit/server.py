"""The ChatKit server: answers a user message with the chat API's agent, tools and history."""

from collections.abc import AsyncIterator
from zoneinfo import ZoneInfo

from agents import TResponseInputItem
from chatkit.errors import CustomStreamError
from chatkit.logger import logger as chatkit_logger
from chatkit.server import ChatKitServer
from chatkit.types import (
    AssistantMessageContent,
    AssistantMessageContentPartAdded,
    AssistantMessageContentPartDone,
    AssistantMessageContentPartTextDelta,
    AssistantMessageItem,
    FeedbackKind,
    ProgressUpdateEvent,
    StreamOptions,
    ThreadItemAddedEvent,
    ThreadItemDoneEvent,
    ThreadItemUpdatedEvent,
    ThreadMetadata,
    ThreadStreamEvent,
    UserMessageItem,
)
from django.utils import timezone

from chat import services
from chat.agent import ChatProviderError, stream_turn
from chat.chatkit.store import ChatKitContext, ConversationStore, conversation_of, user_text
from chat.tools import ChatContext
from todo_project.asynchronous import database

# openai-chatkit gives its logger a plain-text stderr handler of its own when LOG_LEVEL is set (the variable our
# settings read too): its records would be written twice, once unformatted. They go through ours, as JSON.
for _handler in list(chatkit_logger.handlers):
    chatkit_logger.removeHandler(_handler)

PROGRESS = {
    "add_task": "Adding the task",
    "list_tasks": "Looking at your tasks",
    "complete_task": "Completing the task",
    "delete_task": "Deleting the task",
    "update_task": "Updating the task",
}


@database
def _turn_start(
    *, user_id: str, thread_id: str, message: str, zone: ZoneInfo
) -> tuple[list[TResponseInputItem], ChatContext]:
    conversation = conversation_of(user_id=user_id, thread_id=thread_id)
    context = services.turn_context(conversation=conversation, message=message, zone=zone)
    return services.turn_input(conversation=conversation), context


@database
def _tool_calls_store(*, user_id: str, thread_id: str, context: ChatContext) -> None:
    """The tool calls that ran, each with its result; the reply comes as an item, which the SDK stores."""
    conversation = conversation_of(user_id=user_id, thread_id=thread_id)
    services.turn_record(conversation=conversation, tool_calls=context.tool_calls, reply=None, held=context.held)


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
            title = services.conversation_title(message=user_text(input_user_message.content))
            thread.title = title or None  # the SDK saves it
        user_id = context.user_id
        message_text = user_text(input_user_message.content) if input_user_message is not None else ""
        input_items, chat_context = await _turn_start(
            user_id=user_id, thread_id=thread.id, message=message_text, zone=context.zone
        )
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
                await _tool_calls_store(user_id=user_id, thread_id=thread.id, context=chat_context)
            raise CustomStreamError(exc.detail, allow_retry=True) from exc
        if chat_context.tool_calls:
            await _tool_calls_store(user_id=user_id, thread_id=thread.id, context=chat_context)
        content = AssistantMessageContent(text=reply)
        if streaming:
            yield ThreadItemUpdatedEvent(
                item_id=message.id, update=AssistantMessageContentPartDone(content_index=0, content=content)
            )
        yield ThreadItemDoneEvent(item=message.model_copy(update={"content": [content]}))
