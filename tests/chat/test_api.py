"""The contract's Chat section through HTTP, with the offline model (no API key)."""

import json

import pytest

from chat.models import Conversation, Message
from tests.conftest import USER_A, USER_B

pytestmark = pytest.mark.django_db


def chat(client, message, conversation_id=None, user=USER_A):
    body = {"message": message}
    if conversation_id is not None:
        body["conversation_id"] = conversation_id
    return client.post(f"/api/{user}/chat", body, format="json")


def tasks_of(client, user=USER_A):
    return client.get(f"/api/{user}/tasks").json()


def calls(response):
    return [(call["name"], call["arguments"]) for call in response.json()["tool_calls"]]


# The contract's table: what users say, and what must happen.


def test_add_a_task_to_buy_groceries(api_a):
    response = chat(api_a, "Add a task to buy groceries")

    assert response.status_code == 200
    assert calls(response) == [("add_task", {"title": "Buy groceries"})]
    result = response.json()["tool_calls"][0]["result"]
    assert result["status"] == "created"
    assert result["title"] == "Buy groceries"
    assert [task["title"] for task in tasks_of(api_a)] == ["Buy groceries"]
    assert "Buy groceries" in response.json()["response"]


def test_i_need_to_remember_to_pay_bills(api_a):
    response = chat(api_a, "I need to remember to pay bills")

    assert calls(response) == [("add_task", {"title": "Pay bills"})]
    assert [task["title"] for task in tasks_of(api_a)] == ["Pay bills"]


@pytest.mark.parametrize(
    ("message", "status", "expected"),
    [
        ("Show me all my tasks", "all", {"Open one", "Done one"}),
        ("What's pending?", "pending", {"Open one"}),
        ("What have I completed?", "completed", {"Done one"}),
    ],
)
def test_listing_by_status(api_a, task_factory, message, status, expected):
    task_factory(title="Open one")
    task_factory(title="Done one", completed=True)
    task_factory(title="Someone else's", user_id=USER_B)

    response = chat(api_a, message)

    assert calls(response) == [("list_tasks", {"status": status})]
    listed = response.json()["tool_calls"][0]["result"]
    assert {task["title"] for task in listed} == expected
    assert all(title in response.json()["response"] for title in expected)


def test_mark_task_as_complete(api_a, task_factory):
    task = task_factory(title="File taxes")

    response = chat(api_a, f"Mark task {task.id} as complete")

    assert calls(response) == [("complete_task", {"task_id": task.id})]
    assert response.json()["tool_calls"][0]["result"] == {
        "task_id": task.id,
        "status": "completed",
        "title": "File taxes",
    }
    assert api_a.get(f"/api/{USER_A}/tasks/{task.id}").json()["completed"] is True


def test_delete_the_meeting_task_lists_then_deletes_the_match(api_a, task_factory):
    meeting = task_factory(title="Team meeting")
    other = task_factory(title="Buy milk")

    response = chat(api_a, "Delete the meeting task")

    assert calls(response) == [("list_tasks", {"status": "all"}), ("delete_task", {"task_id": meeting.id})]
    assert [task["id"] for task in tasks_of(api_a)] == [other.id]
    assert "Team meeting" in response.json()["response"]


def test_delete_by_name_asks_when_several_match_and_deletes_nothing(api_a, task_factory):
    task_factory(title="Team meeting")
    task_factory(title="Meeting notes")

    response = chat(api_a, "Delete the meeting task")

    assert calls(response) == [("list_tasks", {"status": "all"})]
    assert "Which one" in response.json()["response"]
    assert len(tasks_of(api_a)) == 2


def test_change_task_title(api_a, task_factory):
    task = task_factory(title="Call mom")

    response = chat(api_a, f"Change task {task.id} to 'Call mom tonight'")

    assert calls(response) == [("update_task", {"task_id": task.id, "title": "Call mom tonight"})]
    assert api_a.get(f"/api/{USER_A}/tasks/{task.id}").json()["title"] == "Call mom tonight"


# Plain commands in the same spirit.


@pytest.mark.parametrize(
    ("message", "expected_call"),
    [
        ("add buy milk", ("add_task", {"title": "Buy milk"})),
        ("add a task to walk the dog", ("add_task", {"title": "Walk the dog"})),
        ("list my tasks", ("list_tasks", {"status": "all"})),
        ("show my tasks", ("list_tasks", {"status": "all"})),
        ("show pending tasks", ("list_tasks", {"status": "pending"})),
        ("show completed tasks", ("list_tasks", {"status": "completed"})),
    ],
)
def test_plain_commands(api_a, message, expected_call):
    assert calls(chat(api_a, message)) == [expected_call]


@pytest.mark.parametrize(
    ("template", "tool", "check"),
    [
        ("complete task {id}", "complete_task", lambda task: task["completed"] is True),
        ("finish task {id}", "complete_task", lambda task: task["completed"] is True),
        ("mark task {id} as done", "complete_task", lambda task: task["completed"] is True),
        ("rename task {id} to Walk the dog", "update_task", lambda task: task["title"] == "Walk the dog"),
        (
            "update task {id} description to bring the receipts",
            "update_task",
            lambda task: task["description"] == "bring the receipts",
        ),
    ],
)
def test_commands_on_a_task_change_it(api_a, task_factory, template, tool, check):
    task = task_factory(title="Something")

    response = chat(api_a, template.format(id=task.id))

    assert [name for name, _ in calls(response)] == [tool]
    assert check(api_a.get(f"/api/{USER_A}/tasks/{task.id}").json())


@pytest.mark.parametrize("verb", ["delete", "remove"])
def test_delete_or_remove_task_by_id(api_a, task_factory, verb):
    task = task_factory(title="Old")

    response = chat(api_a, f"{verb} task {task.id}")

    assert calls(response) == [("delete_task", {"task_id": task.id})]
    assert api_a.get(f"/api/{USER_A}/tasks/{task.id}").status_code == 404


def test_anything_else_gets_help(api_a):
    response = chat(api_a, "What's the weather like?")

    assert response.json()["tool_calls"] == []
    assert "add buy milk" in response.json()["response"]


@pytest.mark.parametrize(
    "template", ["complete task {id}", "delete task {id}", "rename task {id} to Mine now", "mark task {id} as done"]
)
def test_another_users_task_is_not_found_and_untouched(client_for, task_factory, template):
    foreign = task_factory(user_id=USER_A, title="A's task")
    client_b = client_for(USER_B)

    response = chat(client_b, template.format(id=foreign.id), user=USER_B)

    assert response.status_code == 200
    assert response.json()["tool_calls"][0]["result"]["status"] == "not_found"
    assert "couldn't find" in response.json()["response"]
    foreign.refresh_from_db()
    assert (foreign.title, foreign.completed) == ("A's task", False)


# Stored conversations; stateless turns.


def test_a_turn_stores_the_user_message_the_tool_calls_and_the_reply(api_a):
    response = chat(api_a, "Add a task to buy groceries")

    conversation = Conversation.objects.get(pk=response.json()["conversation_id"])
    assert conversation.user_id == USER_A
    assert conversation.title == "Add a task to buy groceries"
    rows = list(conversation.messages.values_list("role", "content", "tool_calls"))
    assert [role for role, _, _ in rows] == ["user", "assistant", "tool", "assistant"]
    assert rows[0][1] == "Add a task to buy groceries"
    assert rows[1][2][0]["name"] == "add_task"
    assert rows[1][2][0]["arguments"] == {"title": "Buy groceries"}
    assert json.loads(rows[2][1])["status"] == "created"
    assert rows[3][1] == response.json()["response"]
    assert all(message.user_id == USER_A for message in conversation.messages.all())


def test_conversation_continues_and_starts_anew_without_an_id(api_a):
    first = chat(api_a, "add buy milk").json()["conversation_id"]
    second = chat(api_a, "show my tasks", first).json()["conversation_id"]
    third = chat(api_a, "show my tasks").json()["conversation_id"]

    assert first == second
    assert third != first
    assert Message.objects.filter(conversation_id=first, role="user").count() == 2


@pytest.mark.parametrize("conversation_id", ["foreign", 999_999], ids=["foreign", "missing"])
def test_conversation_of_another_user_is_404_and_gets_nothing(api_a, client_for, conversation_id):
    foreign = chat(client_for(USER_B), "add secret plan", user=USER_B).json()["conversation_id"]
    target = foreign if conversation_id == "foreign" else conversation_id

    response = chat(api_a, "show my tasks", target)

    assert response.status_code == 404
    assert Message.objects.filter(conversation_id=foreign).count() == 4
    assert not Message.objects.filter(user_id=USER_A).exists()


def test_path_user_that_is_not_the_token_user_is_403(api_a):
    response = chat(api_a, "add x", user=USER_B)

    assert response.status_code == 403


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"message": ""}, "message"),
        ({"message": "   "}, "message"),
        ({}, "message"),
        ({"message": None}, "message"),
        ({"message": 42}, "message"),
        ({"message": "x" * 4001}, "message"),
        ({"message": "hi", "conversation_id": "abc"}, "conversation_id"),
        ({"message": "hi", "conversation_id": 0}, "conversation_id"),
        ({"message": "hi", "user_id": USER_B}, "user_id"),
    ],
    ids=["empty", "blank", "missing", "null", "not-a-string", "too-long", "id-not-int", "id-zero", "unknown-field"],
)
@pytest.mark.parametrize("path", ["chat", "chat/stream"])
def test_invalid_chat_request_is_400_and_stores_nothing(api_a, body, field, path):
    response = api_a.post(f"/api/{USER_A}/{path}", body, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert not Conversation.objects.exists()


def test_message_length_limit_is_configurable(api_a, settings):
    settings.CHAT_MAX_MESSAGE_CHARS = 10

    assert chat(api_a, "add 12345").status_code == 200
    assert chat(api_a, "add 1234567").status_code == 400


def test_chat_is_throttled_per_user_with_retry_after(api_a, client_for, settings):
    settings.CHAT_RATE = "3/min"

    statuses = [chat(api_a, "show my tasks").status_code for _ in range(4)]
    other_user = chat(client_for(USER_B), "show my tasks", user=USER_B)

    assert statuses == [200, 200, 200, 429]
    throttled = chat(api_a, "show my tasks")
    assert throttled.status_code == 429
    assert int(throttled["Retry-After"]) > 0
    assert "detail" in throttled.json()
    assert other_user.status_code == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "chat"),
        ("post", "chat/stream"),
        ("get", "conversations"),
        ("get", "conversations/1"),
        ("delete", "conversations/1"),
    ],
)
def test_chat_routes_need_a_token(client, method, path):
    response = getattr(client, method)(f"/api/{USER_A}/{path}", {"message": "hi"}, content_type="application/json")

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


# Conversations API.


def test_conversations_list_newest_first_and_only_mine(api_a, client_for):
    older = chat(api_a, "add one").json()["conversation_id"]
    newer = chat(api_a, "add two").json()["conversation_id"]
    chat(client_for(USER_B), "add theirs", user=USER_B)
    chat(api_a, "show my tasks", older)  # the older one is now the most recently active

    response = api_a.get(f"/api/{USER_A}/conversations")

    assert response.status_code == 200
    assert [c["id"] for c in response.json()] == [older, newer]
    assert {"id", "title", "created_at", "updated_at"} <= set(response.json()[0])


def test_conversation_detail_has_its_messages_in_order(api_a):
    conversation_id = chat(api_a, "add buy milk").json()["conversation_id"]
    chat(api_a, "show my tasks", conversation_id)

    response = api_a.get(f"/api/{USER_A}/conversations/{conversation_id}")

    assert response.status_code == 200
    messages = response.json()["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "assistant"] * 2
    assert messages[0]["content"] == "add buy milk"
    assert messages[4]["content"] == "show my tasks"


def test_delete_conversation_removes_its_messages(api_a):
    conversation_id = chat(api_a, "add buy milk").json()["conversation_id"]

    response = api_a.delete(f"/api/{USER_A}/conversations/{conversation_id}")

    assert response.status_code == 204
    assert api_a.get(f"/api/{USER_A}/conversations/{conversation_id}").status_code == 404
    assert not Message.objects.exists()
    assert len(tasks_of(api_a)) == 1  # the task the conversation created stays


@pytest.mark.parametrize("method", ["get", "delete"])
def test_another_users_conversation_is_404(api_a, client_for, method):
    foreign = chat(client_for(USER_B), "add theirs", user=USER_B).json()["conversation_id"]

    response = getattr(api_a, method)(f"/api/{USER_A}/conversations/{foreign}")

    assert response.status_code == 404
    assert Conversation.objects.filter(pk=foreign).exists()


def test_long_first_message_gives_a_short_title(api_a):
    message = "add " + "a very long task title that keeps going " * 5

    conversation_id = chat(api_a, message).json()["conversation_id"]

    title = Conversation.objects.get(pk=conversation_id).title
    assert len(title) <= 61
    assert title.endswith("…")
