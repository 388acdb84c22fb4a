"""The ChatKit endpoint through HTTP: real ChatKit protocol requests, the offline model, our tables.

A turn streams from a thread of its own, with its own database connection: those tests are transactional."""

import json

import pytest
import yaml
from chatkit.types import (
    AssistantMessageContentPartTextDelta,
    AssistantMessageItem,
    ErrorEvent,
    Page,
    ProgressUpdateEvent,
    StreamOptionsEvent,
    Thread,
    ThreadCreatedEvent,
    ThreadItem,
    ThreadItemAddedEvent,
    ThreadItemDoneEvent,
    ThreadItemUpdatedEvent,
    ThreadMetadata,
    ThreadStreamEvent,
    ThreadUpdatedEvent,
    UserMessageItem,
)
from pydantic import TypeAdapter

from chat.models import Conversation, Message
from tests.chat.conftest import failure, tool_call
from tests.conftest import USER_A, USER_B

EVENT = TypeAdapter(ThreadStreamEvent)
THREADS = TypeAdapter(Page[ThreadMetadata])
ITEMS = TypeAdapter(Page[ThreadItem])
streaming = pytest.mark.django_db(transaction=True)


def send(client, request_type, /, user=USER_A, **params):
    body = json.dumps({"type": request_type, "params": params})
    return client.post(f"/api/{user}/chatkit", data=body, content_type="application/json")


def said(text):
    """A ChatKit user message input, as ChatKit.js sends it."""
    return {"content": [{"type": "input_text", "text": text}], "attachments": [], "inference_options": {}}


def events(response):
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "text/event-stream"
    text = b"".join(response.streaming_content).decode()
    assert text.endswith("\n\n")
    return [EVENT.validate_json(block.removeprefix("data: ")) for block in text.split("\n\n") if block]


def done_items(stream, kind):
    return [event.item for event in stream if isinstance(event, ThreadItemDoneEvent) and isinstance(event.item, kind)]


def reply(stream):
    (message,) = done_items(stream, AssistantMessageItem)
    return message.content[0].text


def start(client, text="add a task to buy milk"):
    stream = events(send(client, "threads.create", input=said(text)))
    return stream[0].thread.id, stream


def items(client, thread_id, **params):
    response = send(client, "items.list", thread_id=thread_id, **params)
    assert response.status_code == 200, response.content
    return ITEMS.validate_json(response.content)


def texts(page):
    return [(item.type, item.content[0].text) for item in page.data]


def tasks_of(client, user=USER_A):
    return [task["title"] for task in client.get(f"/api/{user}/tasks").json()]


# A turn: threads.create and threads.add_user_message.


@streaming
def test_a_new_thread_streams_the_turn_and_stores_it(api_a):
    thread_id, stream = start(api_a)

    assert isinstance(stream[0], ThreadCreatedEvent)
    conversation = Conversation.objects.get(user_id=USER_A)
    assert thread_id == f"thr_{conversation.pk}"
    rows = list(conversation.messages.order_by("id"))
    assert [row.role for row in rows] == ["user", "assistant", "tool", "assistant"]  # as the chat API stores a turn
    assert rows[1].tool_calls[0]["name"] == "add_task"
    (user_message,) = done_items(stream, UserMessageItem)
    assert user_message.id == f"msg_{rows[0].pk}"
    assert user_message.content[0].text == rows[0].content == "add a task to buy milk"
    assert any(isinstance(event, StreamOptionsEvent) for event in stream)
    assert [event.text for event in stream if isinstance(event, ProgressUpdateEvent)] == ["Adding the task"]
    added = next(event for event in stream if isinstance(event, ThreadItemAddedEvent))
    deltas = [event.update for event in stream if isinstance(event, ThreadItemUpdatedEvent)]
    streamed = "".join(update.delta for update in deltas if isinstance(update, AssistantMessageContentPartTextDelta))
    assert streamed == reply(stream) == rows[3].content
    assert "Buy milk" in reply(stream)
    assert done_items(stream, AssistantMessageItem)[0].id == added.item.id  # one item, from added to done
    assert isinstance(stream[-1], ThreadItemDoneEvent)
    title = next(event.thread.title for event in stream if isinstance(event, ThreadUpdatedEvent))
    assert title == conversation.title == "add a task to buy milk"
    assert tasks_of(api_a) == ["Buy milk"]


@streaming
def test_a_message_added_to_the_thread_gets_an_answer_from_the_history(api_a):
    thread_id, _ = start(api_a)

    stream = events(send(api_a, "threads.add_user_message", thread_id=thread_id, input=said("show me all my tasks")))

    assert not any(isinstance(event, ThreadCreatedEvent) for event in stream)
    assert "Buy milk" in reply(stream)
    assert Conversation.objects.count() == 1
    roles = list(Message.objects.filter(conversation__user_id=USER_A).values_list("role", flat=True).order_by("id"))
    assert roles == ["user", "assistant", "tool", "assistant"] * 2
    assert tasks_of(api_a) == ["Buy milk"]


@streaming
def test_threads_list_and_items_list_read_the_stored_rows_in_order(api_a):
    thread_id, _ = start(api_a)
    events(send(api_a, "threads.add_user_message", thread_id=thread_id, input=said("show me all my tasks")))
    second_id, _ = start(api_a, "add call mom")

    threads = THREADS.validate_json(send(api_a, "threads.list").content)
    ascending = items(api_a, thread_id, order="asc")

    assert [(thread.id, thread.title) for thread in threads.data] == [
        (second_id, "add call mom"),
        (thread_id, "add a task to buy milk"),
    ]
    assert [kind for kind, _ in texts(ascending)] == ["user_message", "assistant_message"] * 2  # no tool rows
    assert [text for _, text in texts(ascending)][::2] == ["add a task to buy milk", "show me all my tasks"]
    assert "Buy milk" in texts(ascending)[3][1]
    assert texts(items(api_a, thread_id)) == texts(ascending)[::-1]  # ChatKit's default order is "desc"
    first = items(api_a, thread_id, order="asc", limit=3)
    rest = items(api_a, thread_id, order="asc", limit=3, after=first.after)
    assert (first.has_more, rest.has_more, rest.after) == (True, False, None)
    assert texts(first) + texts(rest) == texts(ascending)
    page = THREADS.validate_json(send(api_a, "threads.list", limit=1).content)
    assert ([thread.id for thread in page.data], page.has_more, page.after) == ([second_id], True, second_id)
    thread = Thread.model_validate_json(send(api_a, "threads.get_by_id", thread_id=thread_id).content)
    assert texts(thread.items) == texts(ascending)


@streaming
def test_retry_after_a_user_message_answers_again_without_repeating_the_tool(api_a):
    thread_id, stream = start(api_a)
    (user_message,) = done_items(stream, UserMessageItem)

    again = events(send(api_a, "threads.retry_after_item", thread_id=thread_id, item_id=user_message.id))

    assert "Buy milk" in reply(again)
    assert [kind for kind, _ in texts(items(api_a, thread_id, order="asc"))] == ["user_message", "assistant_message"]
    assert tasks_of(api_a) == ["Buy milk"]  # the model sees the add_task that ran


@streaming
def test_another_user_can_neither_read_nor_touch_the_thread(api_a, client_for):
    thread_id, stream = start(api_a)
    (user_message,) = done_items(stream, UserMessageItem)
    rows = list(Message.objects.values_list("id", "content"))
    api_b = client_for(USER_B)

    for kind, params in [
        ("threads.get_by_id", {}),
        ("items.list", {}),
        ("threads.add_user_message", {"input": said("show me all my tasks")}),
        ("threads.retry_after_item", {"item_id": user_message.id}),
        ("threads.update", {"title": "mine now"}),
        ("threads.delete", {}),
        ("items.feedback", {"item_ids": [user_message.id], "kind": "positive"}),
    ]:
        response = send(api_b, kind, user=USER_B, thread_id=thread_id, **params)

        assert response.status_code == 404, kind
        assert response.json() == {"detail": "No such thread for this user."}
    assert THREADS.validate_json(send(api_b, "threads.list", user=USER_B).content).data == []
    assert list(Message.objects.values_list("id", "content")) == rows
    assert list(Conversation.objects.values_list("user_id", "title")) == [(USER_A, "add a task to buy milk")]
    assert tasks_of(api_b, USER_B) == []


@streaming
def test_a_provider_failure_is_an_error_event_and_the_tool_call_that_ran_is_stored(api_a, fake_provider):
    fake_provider.script = [tool_call("add_task", title="Buy milk"), failure(500)]

    _, stream = start(api_a, "add buy milk")

    error = stream[-1]
    assert isinstance(error, ErrorEvent)
    assert (error.code, error.allow_retry) == ("custom", True)
    assert error.message == "The assistant's model provider failed. Please try again."
    assert list(Message.objects.values_list("role", flat=True).order_by("id")) == ["user", "assistant", "tool"]
    assert tasks_of(api_a) == ["Buy milk"]


# The same tables as the chat API.


@pytest.mark.django_db
def test_a_chat_api_conversation_is_a_thread_and_its_tool_calls_are_not_items(api_a):
    conversation_id = api_a.post(f"/api/{USER_A}/chat", {"message": "add buy milk"}, format="json").json()[
        "conversation_id"
    ]
    thread_id = f"thr_{conversation_id}"

    page = items(api_a, thread_id, order="asc")

    assert [kind for kind, _ in texts(page)] == ["user_message", "assistant_message"]
    assert texts(page)[0][1] == "add buy milk"
    assert Message.objects.filter(conversation_id=conversation_id).count() == 4
    first = page.data[0]
    loaded = send(api_a, "threads.get_by_id", thread_id=thread_id).json()["items"]["data"][0]
    assert loaded["id"] == first.id


@pytest.mark.django_db
def test_rename_and_delete_a_thread(api_a):
    conversation_id = api_a.post(f"/api/{USER_A}/chat", {"message": "add buy milk"}, format="json").json()[
        "conversation_id"
    ]
    thread_id = f"thr_{conversation_id}"

    renamed = send(api_a, "threads.update", thread_id=thread_id, title="Shopping " + "x" * 300)
    feedback = send(api_a, "items.feedback", thread_id=thread_id, item_ids=["msg_1"], kind="positive")

    assert renamed.status_code == 200
    assert Thread.model_validate_json(renamed.content).title == Conversation.objects.get().title
    assert Conversation.objects.get().title == ("Shopping " + "x" * 300)[:200]
    assert (feedback.status_code, feedback.json()) == (200, {})
    assert send(api_a, "threads.delete", thread_id=thread_id).json() == {}
    assert not Conversation.objects.exists()
    assert not Message.objects.exists()
    assert send(api_a, "threads.get_by_id", thread_id=thread_id).status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("thread_id", ["thr_0", "thr_abc", "1", "thr_1 ", "thr_99999999999999999999", ""])
def test_unknown_thread_ids_are_404(api_a, thread_id):
    assert send(api_a, "items.list", thread_id=thread_id).status_code == 404
    assert send(api_a, "threads.add_user_message", thread_id=thread_id, input=said("hi")).status_code == 404
    assert not Message.objects.exists()


# Rules: authentication, the protocol, the message, the rates.


@pytest.mark.django_db
def test_no_token_is_401_and_another_users_path_is_403(client, api_a):
    body = json.dumps({"type": "threads.list", "params": {}})

    anonymous = client.post(f"/api/{USER_A}/chatkit", data=body, content_type="application/json")
    elsewhere = api_a.post(f"/api/{USER_B}/chatkit", data=body, content_type="application/json")

    assert anonymous.status_code == 401
    assert anonymous["WWW-Authenticate"].startswith("Bearer")
    assert elsewhere.status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("{", "detail"),
        ("[]", "detail"),
        ('{"type": "threads.chat", "params": {}}', "type"),
        ('{"type": "threads.create"}', "params"),
        ('{"type": "threads.create", "params": {"input": {"content": "hi"}}}', "params.input.content"),
        ('{"type": "items.list", "params": {"thread_id": 1}}', "params.thread_id"),
        ('{"type": "attachments.create", "params": {"name": "a.txt", "size": 1, "mime_type": "text/plain"}}', "type"),
        ('{"type": "input.transcribe", "params": {"audio_base64": "", "mime_type": "audio/webm"}}', "type"),
    ],
)
def test_invalid_protocol_json_is_400_and_stores_nothing(api_a, body, field):
    response = api_a.post(f"/api/{USER_A}/chatkit", data=body, content_type="application/json")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert field in response.json()
    assert not Conversation.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("message", "error"),
    [
        (said("x" * 4001), "The message is too long: at most 4000 characters."),
        (said("   "), "The message is empty."),
        ({**said("look at this"), "attachments": ["atc_1"]}, "Attachments are not supported."),
    ],
)
def test_a_message_the_assistant_cannot_take_is_an_error_event_and_nothing_is_stored(api_a, message, error):
    stream = events(send(api_a, "threads.create", input=message))

    assert stream == [ErrorEvent(code="custom", message=error, allow_retry=False)]
    assert not Conversation.objects.exists()


@pytest.mark.django_db
def test_an_unknown_time_zone_is_400(api_a):
    response = api_a.post(
        f"/api/{USER_A}/chatkit",
        data=json.dumps({"type": "threads.create", "params": {"input": said("add buy milk tomorrow")}}),
        content_type="application/json",
        HTTP_X_TIMEZONE="Mars/Olympus_Mons",
    )

    assert response.status_code == 400
    assert "X-Timezone" in response.json()
    assert not Conversation.objects.exists()


@pytest.mark.django_db
def test_the_chat_rate_counts_turns_not_reads(api_a, settings):
    settings.CHAT_RATE = "1/min"

    reads = [send(api_a, "threads.list").status_code for _ in range(3)]
    turns = [send(api_a, "threads.add_user_message", thread_id="thr_1", input=said("hi")).status_code for _ in "ab"]

    assert reads == [200, 200, 200]
    assert turns == [404, 429]


def test_the_schema_documents_the_endpoint(client):
    schema = yaml.safe_load(client.get("/api/schema/").content)
    operation = schema["paths"]["/api/{user_id}/chatkit"]["post"]

    assert {"application/json", "text/event-stream"} <= set(operation["responses"]["200"]["content"])
    assert {"400", "401", "403", "404", "429"} <= set(operation["responses"])
    assert operation["requestBody"]["required"] is True
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    kinds = [option["properties"]["type"]["enum"][0] for option in body["oneOf"]]
    assert {"threads.create", "threads.add_user_message", "threads.list", "items.list"} <= set(kinds)
