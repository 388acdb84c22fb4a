"""The SDK's real OpenAI model, HTTP included, against a fake OpenAI-compatible server on loopback."""

import json

import pytest
from agents import OpenAIChatCompletionsModel, OpenAIResponsesModel
from asgiref.sync import async_to_sync
from openai import AsyncOpenAI

from chat.agent import get_model
from chat.models import Message
from chat.offline import OfflineModel
from tests.chat.conftest import failure, reply, slow, tool_call
from tests.conftest import USER_A, USER_B

pytestmark = pytest.mark.django_db


def chat(client, message, conversation_id=None, path="chat", user=USER_A):
    body = {"message": message}
    if conversation_id is not None:
        body["conversation_id"] = conversation_id
    return client.post(f"/api/{user}/{path}", body, format="json")


def roles(conversation_id):
    return list(Message.objects.filter(conversation_id=conversation_id).values_list("role", flat=True))


def sent_messages(request_body):
    """What the provider received, without the system prompt: (role, content or tool call)."""
    out = []
    for message in request_body["messages"]:
        if message["role"] == "system":
            continue
        if message.get("tool_calls"):
            out.extend(("tool_call", call["function"]["name"]) for call in message["tool_calls"])
        else:
            out.append((message["role"], message["content"]))
    return out


def test_model_choice_follows_the_settings(settings):
    settings.OPENAI_API_KEY = ""
    assert isinstance(get_model(), OfflineModel)

    settings.OPENAI_API_KEY = "sk-test"
    assert isinstance(get_model(), OpenAIChatCompletionsModel)

    settings.CHAT_API = "responses"
    assert isinstance(get_model(), OpenAIResponsesModel)


def test_a_turn_with_a_tool_call_through_chat_completions(api_a, fake_provider):
    fake_provider.script = [tool_call("add_task", title="Buy milk"), reply("Added “Buy milk”.")]

    response = chat(api_a, "add milk to my list please")

    assert response.status_code == 200
    body = response.json()
    assert body["response"].strip() == "Added “Buy milk”."
    assert [(c["name"], c["arguments"]) for c in body["tool_calls"]] == [("add_task", {"title": "Buy milk"})]
    assert body["tool_calls"][0]["result"]["status"] == "created"
    assert [t["title"] for t in api_a.get(f"/api/{USER_A}/tasks").json()] == ["Buy milk"]
    first, second = fake_provider.requests
    assert first["model"] == "fake-model"
    assert {tool["function"]["name"] for tool in first["tools"]} == {
        "add_task", "list_tasks", "complete_task", "delete_task", "update_task", "create_list", "rename_list",
        "list_lists",
    }  # fmt: skip
    assert "user_id" not in json.dumps(first["tools"])
    assert first["messages"][0]["role"] == "system"
    assert sent_messages(first) == [("user", "add milk to my list please")]
    tool_result = next(m for m in second["messages"] if m["role"] == "tool")
    assert json.loads(tool_result["content"])["title"] == "Buy milk"


def test_a_turn_through_the_responses_api(api_a, fake_provider, settings):
    settings.CHAT_API = "responses"
    fake_provider.script = [tool_call("add_task", title="Buy milk"), reply("Added “Buy milk”.")]

    response = chat(api_a, "add milk")

    assert response.status_code == 200
    assert response.json()["response"] == "Added “Buy milk”."
    assert response.json()["tool_calls"][0]["result"]["status"] == "created"
    assert [t["title"] for t in api_a.get(f"/api/{USER_A}/tasks").json()] == ["Buy milk"]
    first, second = fake_provider.requests
    assert first["input"] == [{"role": "user", "content": "add milk"}]
    assert first["model"] == "fake-model"
    assert any(item.get("type") == "function_call_output" for item in second["input"])


def test_each_turn_reads_the_history_from_the_database(api_a, fake_provider):
    fake_provider.script = [tool_call("add_task", title="Buy milk"), reply("Added."), reply("You have one task.")]
    conversation_id = chat(api_a, "add buy milk").json()["conversation_id"]

    response = chat(api_a, "how many tasks do I have?", conversation_id)

    assert response.status_code == 200
    task_id = api_a.get(f"/api/{USER_A}/tasks").json()[0]["id"]
    assert sent_messages(fake_provider.requests[-1]) == [
        ("user", "add buy milk"),
        ("tool_call", "add_task"),
        ("tool", json.dumps({"task_id": task_id, "status": "created", "title": "Buy milk"})),
        ("assistant", "Added."),
        ("user", "how many tasks do I have?"),
    ]


def test_history_is_bounded_and_starts_at_a_user_message(api_a, fake_provider, settings):
    fake_provider.script = [tool_call("add_task", title="One"), reply("Added."), reply("Hi."), reply("Still here.")]
    conversation_id = chat(api_a, "add one").json()["conversation_id"]
    chat(api_a, "hello", conversation_id)
    settings.CHAT_HISTORY_LIMIT = 4  # the last 4 rows: tool result, reply, "hello", its reply... then the new one

    chat(api_a, "are you there?", conversation_id)

    sent = sent_messages(fake_provider.requests[-1])
    assert sent == [("user", "hello"), ("assistant", "Hi."), ("user", "are you there?")]


def test_the_model_cannot_reach_another_users_task(client_for, task_factory, fake_provider):
    foreign = task_factory(user_id=USER_A, title="A's secret")
    fake_provider.script = [
        tool_call("delete_task", task_id=foreign.id),
        tool_call("complete_task", task_id=foreign.id),
        tool_call("update_task", task_id=foreign.id, title="pwned", description=None),
        reply("I couldn't find that task."),
    ]

    response = chat(client_for(USER_B), "delete task", user=USER_B)

    assert response.status_code == 200
    assert {call["result"]["status"] for call in response.json()["tool_calls"]} == {"not_found"}
    foreign.refresh_from_db()
    assert (foreign.title, foreign.completed) == ("A's secret", False)


@pytest.mark.parametrize(
    ("step", "status"),
    [(failure(500), 502), (failure(400), 502), (failure(429, retry_after=1), 503), (slow(3), 504)],
    ids=["provider-500", "provider-400", "rate-limited", "timeout"],
)
def test_provider_failures_keep_the_message_and_the_conversation_works_next_time(
    api_a, fake_provider, settings, step, status
):
    settings.CHAT_TIMEOUT_SECONDS = 1
    fake_provider.script = [step]

    failed = chat(api_a, "add buy milk")

    assert failed.status_code == status
    body = failed.json()
    assert isinstance(body["detail"], str)
    assert "Traceback" not in body["detail"]
    conversation_id = body["conversation_id"]
    assert roles(conversation_id) == ["user"]

    fake_provider.script = [reply("Sorry about that, how can I help?")]
    retried = chat(api_a, "add buy milk", conversation_id)

    assert retried.status_code == 200
    assert roles(conversation_id) == ["user", "user", "assistant"]


def test_failure_after_a_tool_call_stores_the_call_but_no_reply(api_a, fake_provider):
    fake_provider.script = [tool_call("add_task", title="Buy milk"), failure(500)]

    failed = chat(api_a, "add buy milk")

    assert failed.status_code == 502
    conversation_id = failed.json()["conversation_id"]
    assert roles(conversation_id) == ["user", "assistant", "tool"]
    assert len(api_a.get(f"/api/{USER_A}/tasks").json()) == 1  # the tool really ran

    fake_provider.script = [reply("Done: Buy milk is on your list.")]
    retried = chat(api_a, "did it work?", conversation_id)

    assert retried.status_code == 200
    assert sent_messages(fake_provider.requests[-1])[:2] == [("user", "add buy milk"), ("tool_call", "add_task")]


# Streaming (the agent runs in a thread of its own, with its own connection: transactional tests).


def parse_sse(response):
    text = b"".join(response.streaming_content).decode()
    events = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    return events


@pytest.mark.django_db(transaction=True)
def test_stream_sends_tool_calls_deltas_and_a_final_event(api_a, fake_provider):
    fake_provider.script = [tool_call("add_task", title="Buy milk"), reply("Added Buy milk.")]

    response = chat(api_a, "add buy milk", path="chat/stream")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream"
    events = parse_sse(response)
    kinds = [kind for kind, _ in events]
    assert kinds[0] == "conversation"
    assert kinds[-1] == "done"
    tool_event = next(data for kind, data in events if kind == "tool_call")
    assert tool_event["name"] == "add_task"
    assert tool_event["result"]["status"] == "created"
    deltas = "".join(data["text"] for kind, data in events if kind == "delta")
    assert deltas.strip() == "Added Buy milk."
    done = events[-1][1]
    assert done["conversation_id"] == events[0][1]["conversation_id"]
    assert done["response"].strip() == "Added Buy milk."
    assert roles(done["conversation_id"]) == ["user", "assistant", "tool", "assistant"]
    assert fake_provider.requests[0]["stream"] is True


@pytest.mark.django_db(transaction=True)
def test_stream_with_the_offline_model(api_a):
    response = chat(api_a, "add buy milk", path="chat/stream")

    events = parse_sse(response)
    assert [kind for kind, _ in events if kind != "delta"] == ["conversation", "tool_call", "done"]
    assert "".join(data["text"] for kind, data in events if kind == "delta") == events[-1][1]["response"]
    assert [t["title"] for t in api_a.get(f"/api/{USER_A}/tasks").json()] == ["Buy milk"]


@pytest.mark.django_db(transaction=True)
def test_stream_failure_is_an_error_event_and_no_reply_is_stored(api_a, fake_provider):
    fake_provider.script = [failure(500)]

    events = parse_sse(chat(api_a, "add buy milk", path="chat/stream"))

    kind, data = events[-1]
    assert kind == "error"
    assert data["status"] == 502
    assert roles(data["conversation_id"]) == ["user"]


def test_stream_of_another_users_conversation_is_404(api_a, client_for):
    foreign = chat(client_for(USER_B), "add theirs", user=USER_B).json()["conversation_id"]

    response = chat(api_a, "show my tasks", foreign, path="chat/stream")

    assert response.status_code == 404
    assert response.json()["detail"]


def test_turns_in_one_event_loop_share_a_client_and_answer_as_with_a_new_client_each(
    fake_provider, settings, monkeypatch
):
    """chat.agent.openai_client (the speed trick): one client per event loop, and the same answers."""
    from chat import agent
    from chat.tools import ChatContext

    async def two_turns() -> tuple[list[str], set[int]]:
        replies, clients = [], set()
        for text in ("first", "second"):
            clients.add(id(agent.openai_client()))
            replies.append(await agent.run_turn(ChatContext(user_id=USER_A), [{"role": "user", "content": text}]))
        return replies, clients

    fake_provider.script = [reply("one"), reply("two")]
    shared, clients = async_to_sync(two_turns)()
    assert len(clients) == 1
    fresh_each = []
    monkeypatch.setattr(agent, "openai_client", lambda: fresh_each.append(1) or AsyncOpenAI(
        api_key=settings.OPENAI_API_KEY, base_url=settings.OPENAI_BASE_URL, max_retries=0))  # fmt: skip
    fake_provider.script = [reply("one"), reply("two")]
    plain, _ = async_to_sync(two_turns)()
    assert len(fresh_each) >= 2
    assert shared == plain == ["one", "two"]
    assert [sent_messages(body) for body in fake_provider.requests[:2]] == [
        sent_messages(body) for body in fake_provider.requests[2:]
    ]


def test_a_changed_provider_setting_gets_a_new_client(fake_provider, settings):
    from chat.agent import openai_client

    async def clients() -> tuple[object, object, object]:
        first, again = openai_client(), openai_client()
        settings.OPENAI_BASE_URL = fake_provider.base_url + "/other"
        return first, again, openai_client()

    first, again, changed = async_to_sync(clients)()
    assert first is again
    assert changed is not first
    assert str(changed.base_url).rstrip("/").endswith("/other")
