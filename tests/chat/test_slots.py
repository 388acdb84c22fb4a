"""Chat turns per worker and per user (todo_project/slots.py): a turn beyond CHAT_TURNS_PER_WORKER, or
beyond CHAT_TURNS_PER_USER of its user's, is a 503 with Retry-After before anything is stored, and a
stream gives its slot back when it ends or is closed, sent or not."""

import json
import os
import subprocess
import sys

import pytest

from chat.models import Conversation, Message
from tests.chat.test_chatkit import said, send
from tests.conftest import USER_A, USER_B
from todo_project import slots

streaming = pytest.mark.django_db(transaction=True)


@pytest.fixture
def one_turn(settings):
    settings.CHAT_TURNS_PER_WORKER = 1


def post(client, path, message="add a task to call the plumber"):
    return client.post(f"/api/{USER_A}/{path}", {"message": message}, format="json")


def assert_busy(response):
    assert response.status_code == 503
    assert response["Retry-After"] == str(slots.RETRY_AFTER_SECONDS)
    assert "Send yours again" in response.json()["detail"]


@pytest.mark.django_db
def test_a_turn_beyond_the_limit_is_a_503_and_stores_nothing(api_a, one_turn):
    give_back = slots.CHAT_TURNS.take()  # another request's turn, in flight
    try:
        assert_busy(post(api_a, "chat"))
        assert_busy(post(api_a, "chat/stream"))
        assert_busy(send(api_a, "threads.create", input=said("add a task to call the plumber")))
        assert not Conversation.objects.exists()
        assert not Message.objects.exists()
    finally:
        give_back()
    response = post(api_a, "chat")
    assert response.status_code == 200, response.content
    assert Message.objects.filter(role=Message.Role.USER).count() == 1


@pytest.mark.django_db
def test_a_finished_turn_gives_its_slot_back(api_a, one_turn):
    for _ in range(3):
        assert post(api_a, "chat").status_code == 200
    assert post(api_a, "chat", message="").status_code == 400  # refused before the model: no slot kept
    assert post(api_a, "chat").status_code == 200


@streaming
def test_a_stream_holds_its_slot_until_it_ends(api_a, one_turn):
    stream = post(api_a, "chat/stream")
    assert stream.status_code == 200
    assert_busy(post(api_a, "chat"))  # the stream, not yet read, holds the only slot
    body = b"".join(stream.streaming_content).decode()
    assert "event: done" in body
    stream.close()
    assert post(api_a, "chat").status_code == 200


@streaming
def test_a_stream_closed_unread_gives_its_slot_back(api_a, one_turn):
    """A client gone before the first byte: the server closes the response without iterating it."""
    stream = post(api_a, "chat/stream")
    assert_busy(post(api_a, "chat/stream"))
    stream.close()
    again = post(api_a, "chat/stream")
    assert again.status_code == 200
    assert "event: done" in b"".join(again.streaming_content).decode()
    again.close()


@streaming
def test_a_chatkit_turn_holds_a_slot_and_reads_do_not(api_a, one_turn):
    stream = send(api_a, "threads.create", input=said("add a task to call the plumber"))
    assert stream.status_code == 200
    listed = send(api_a, "threads.list")  # a read runs no model: it needs no slot
    assert listed.status_code == 200, listed.content
    assert_busy(post(api_a, "chat"))
    b"".join(stream.streaming_content)
    stream.close()
    assert post(api_a, "chat").status_code == 200


def test_giving_back_twice_releases_once(settings):
    settings.CHAT_TURNS_PER_WORKER = 2
    first = slots.CHAT_TURNS.take()
    first()
    first()  # a BoundedSemaphore would raise ValueError on a release too many
    second, third = slots.CHAT_TURNS.take(), slots.CHAT_TURNS.take()
    with pytest.raises(slots.ChatBusy):
        slots.CHAT_TURNS.take()
    second()
    third()


@pytest.mark.parametrize("threads", ["8", "1"])
def test_the_defaults_do_not_depend_on_the_threads(threads):
    """Turns wait on the event loop, not on a thread: the bounds are their own."""
    env = {**os.environ, "THREADS": threads}
    env.pop("CHAT_TURNS_PER_WORKER", None)
    env.pop("CHAT_TURNS_PER_USER", None)
    code = "import todo_project.settings as s; print(s.CHAT_TURNS_PER_WORKER, s.CHAT_TURNS_PER_USER)"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)  # noqa: S603
    assert done.stdout.split() == ["256", "3"]


@pytest.mark.django_db
def test_a_user_with_as_many_turns_as_one_may_is_refused_and_others_are_not(api_a, client_for, settings):
    settings.CHAT_TURNS_PER_USER = 2
    in_flight = [slots.CHAT_TURNS.take(USER_A) for _ in range(2)]  # two tabs of user A, answering
    try:
        for path in ("chat", "chat/stream"):
            refused = post(api_a, path)
            assert refused.status_code == 503
            assert refused["Retry-After"] == str(slots.RETRY_AFTER_SECONDS)
            assert "CHAT_TURNS_PER_USER" in refused.json()["detail"]
        assert send(api_a, "threads.create", input=said("hello")).status_code == 503
        assert not Message.objects.filter(user_id=USER_A).exists()
        other = client_for(USER_B).post(f"/api/{USER_B}/chat", {"message": "hello"}, format="json")
        assert other.status_code == 200, other.content
    finally:
        for give_back in in_flight:
            give_back()
    assert post(api_a, "chat").status_code == 200


def test_the_503_is_documented():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    for path in ("/api/{user_id}/chat", "/api/{user_id}/chat/stream"):
        assert "503" in schema["paths"][path]["post"]["responses"], path
    assert json.dumps(schema).count("CHAT_TURNS_PER_WORKER") >= 2


@pytest.mark.django_db
def test_a_refusal_is_logged_as_a_warning_not_an_error(api_a, one_turn, caplog):
    give_back = slots.CHAT_TURNS.take()
    try:
        with caplog.at_level("INFO"):
            assert_busy(post(api_a, "chat"))
    finally:
        give_back()
    refusals = [record for record in caplog.records if "ChatBusy" in record.getMessage()]
    assert [record.levelname for record in refusals] == ["WARNING"]
    assert not [record for record in caplog.records if record.name == "django.request"]
