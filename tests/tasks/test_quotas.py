"""Per-user quotas: every creating write refuses to go past one with a 409 that names it, and writes nothing;
the same rule through REST (one task, bulk, import, tags) and the assistant (chat and MCP share its operations)."""

import json

import pytest

from chat.models import Conversation, Message
from tasks import services
from tasks.models import Tag, Task
from tests.conftest import USER_A, USER_B

TASKS = "/api/user-a/tasks"
FULL_TASKS = {"detail": "At most 3 tasks per user, the trash included (MAX_TASKS_PER_USER)."}
pytestmark = pytest.mark.django_db


@pytest.fixture
def three_tasks(settings):
    settings.MAX_TASKS_PER_USER = 3
    for title in ("one", "two"):
        services.task_create(user_id=USER_A, title=title)
    services.task_delete(user_id=USER_A, task_id=services.task_create(user_id=USER_A, title="gone").id)


@pytest.mark.parametrize(
    ("path", "body", "content_type"),
    [
        ("", {"title": "four"}, None),
        ("/bulk", {"tasks": [{"title": "four"}]}, None),
        ("/import", b'[{"title": "four"}]', "application/json"),
    ],
    ids=["create", "bulk", "import"],
)
def test_a_user_at_the_task_quota_gets_a_409_naming_it_and_nothing_is_written(api_a, three_tasks, path, body,
                                                                               content_type):  # fmt: skip
    if content_type:
        response = api_a.generic("POST", f"{TASKS}{path}", body, content_type=content_type)
    else:
        response = api_a.post(f"{TASKS}{path}", body, format="json")

    assert response.status_code == 409
    assert response.json() == FULL_TASKS
    assert Task.objects.filter(user_id=USER_A).count() == 3


def test_the_task_quota_is_per_user_and_counts_what_a_request_adds(api_a, client_for, settings):
    settings.MAX_TASKS_PER_USER = 3

    too_many = api_a.post(f"{TASKS}/bulk", {"tasks": [{"title": "t"}] * 4}, format="json")
    just_so = api_a.post(f"{TASKS}/bulk", {"tasks": [{"title": "t"}] * 3}, format="json")
    theirs = client_for(USER_B).post("/api/user-b/tasks", {"title": "mine"}, format="json")

    assert too_many.status_code == 409
    assert just_so.status_code == 201
    assert theirs.status_code == 201


def test_the_assistant_obeys_the_task_quota(api_a, three_tasks):
    response = api_a.post("/api/user-a/chat", {"message": "Add a task to buy groceries"}, format="json")

    assert response.status_code == 200
    result = response.json()["tool_calls"][0]["result"]
    assert result == {"status": "invalid", "errors": {"detail": [FULL_TASKS["detail"]]}}
    assert not Task.objects.filter(title__icontains="groceries").exists()


def test_new_tags_beyond_the_tag_quota_are_a_409_and_known_ones_still_attach(api_a, settings):
    settings.MAX_TAGS_PER_USER = 2
    task = services.task_create(user_id=USER_A, title="tagged", tags=["a", "b"])

    refused = api_a.patch(f"{TASKS}/{task.id}", {"tags": ["a", "b", "c"]}, format="json")
    created = api_a.post(TASKS, {"title": "new", "tags": ["c"]}, format="json")
    known = api_a.post(TASKS, {"title": "known", "tags": ["b", "a"]}, format="json")

    assert refused.status_code == 409
    assert refused.json() == {"detail": "At most 2 tags per user (MAX_TAGS_PER_USER)."}
    assert created.status_code == 409
    assert not Task.objects.filter(title="new").exists()  # the task and its tags, or nothing
    assert known.status_code == 201
    assert sorted(Tag.objects.filter(user_id=USER_A).values_list("name", flat=True)) == ["a", "b"]


def test_a_user_at_the_conversation_quota_cannot_start_another(api_a, settings):
    settings.MAX_CONVERSATIONS_PER_USER = 1
    first = api_a.post("/api/user-a/chat", {"message": "hello"}, format="json")

    second = api_a.post("/api/user-a/chat", {"message": "hello again"}, format="json")
    same = api_a.post("/api/user-a/chat", {"message": "hi", "conversation_id": first.json()["conversation_id"]},
                      format="json")  # fmt: skip

    assert first.status_code == 200
    assert second.status_code == 409
    assert second.json() == {
        "detail": "At most 1 conversations per user; delete one to start another (MAX_CONVERSATIONS_PER_USER)."
    }
    assert same.status_code == 200
    assert Conversation.objects.filter(user_id=USER_A).count() == 1


@pytest.mark.parametrize("path", ["chat", "chat/stream"])
def test_a_full_conversation_takes_no_new_turn(api_a, settings, path):
    first = api_a.post("/api/user-a/chat", {"message": "hello"}, format="json")
    conversation_id = first.json()["conversation_id"]
    held = Message.objects.filter(conversation_id=conversation_id).count()
    settings.MAX_MESSAGES_PER_CONVERSATION = held

    response = api_a.post(f"/api/user-a/{path}", {"message": "more", "conversation_id": conversation_id},
                          format="json")  # fmt: skip

    assert response.status_code == 409
    assert "MAX_MESSAGES_PER_CONVERSATION" in json.loads(response.content)["detail"]
    assert Message.objects.filter(conversation_id=conversation_id).count() == held
