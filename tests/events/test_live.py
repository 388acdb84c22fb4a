"""The live stream (GET /api/<user_id>/events, events/live.py) through the server's application
(todo_project/asgi.py: the router, Django's ASGI handler, the middleware, the DRF view), in this process:
a client's request, its response read chunk by chunk, and its disconnect, as uvicorn delivers them."""

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from asgiref.testing import ApplicationCommunicator
from django.db import DatabaseError

from events import live
from events.models import Event
from events.sequencer import sequence_round
from tasks import services
from tests.conftest import USER_A, USER_B
from todo_project import slots
from todo_project.asgi import application
from todo_project.asynchronous import database

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _quick(settings: Any) -> None:
    settings.EVENTS_STREAM_POLL_SECONDS = 0.02
    settings.EVENTS_STREAM_HEARTBEAT_SECONDS = 0.5


class Client:
    """One HTTP request to the application, its response read as it streams."""

    def __init__(self, path: str, token: str | None = None, **headers: str) -> None:
        path, _, query = path.partition("?")
        sent = [(b"host", b"testserver")] + ([(b"authorization", f"Bearer {token}".encode())] if token else [])
        sent += [(name.replace("_", "-").lower().encode(), value.encode()) for name, value in headers.items()]
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
            "path": path, "raw_path": path.encode(), "query_string": query.encode(), "root_path": "",
            "headers": sent, "client": ("127.0.0.1", 50000), "server": ("testserver", 80),
        }  # fmt: skip
        self.app = ApplicationCommunicator(application, scope)
        self.status = 0
        self.headers: dict[str, str] = {}
        self.text = ""

    async def open(self) -> "Client":
        await self.app.send_input({"type": "http.request", "body": b"", "more_body": False})
        start = await self.app.receive_output(timeout=10)
        self.status = start["status"]
        self.headers = {name.decode().lower(): value.decode() for name, value in start["headers"]}
        return self

    async def read_until(self, done: Callable[[str], bool], timeout: float = 5) -> str:
        deadline = time.monotonic() + timeout
        while not done(self.text):
            message = await self.app.receive_output(timeout=max(0.01, deadline - time.monotonic()))
            self.text += message.get("body", b"").decode()
            if not message.get("more_body"):
                break
        return self.text

    async def json(self) -> Any:
        await self.read_until(lambda _: False)
        return json.loads(self.text)

    async def leave(self) -> None:
        """The client goes away (uvicorn sends http.disconnect)."""
        await self.app.send_input({"type": "http.disconnect"})
        await self.app.wait(timeout=5)


def ids(text: str) -> list[int]:
    return [int(line.removeprefix("id: ")) for line in text.splitlines() if line.startswith("id: ")]


def messages(text: str) -> list[dict[str, Any]]:
    return [json.loads(line.removeprefix("data: ")) for line in text.splitlines() if line.startswith('data: {"id"')]


@database
def change(user_id: str, title: str) -> int:
    task = services.task_create(user_id=user_id, title=title)
    sequence_round()
    return task.id


def run(test: Callable[[], Any]) -> Any:
    return async_to_sync(test)()


def test_a_stream_replays_after_last_event_id_then_sends_each_new_event_in_order(make_token):
    for title in ("one", "two", "three"):
        change.__wrapped__(USER_A, title)

    async def test() -> None:
        stream = await Client(f"/api/{USER_A}/events", make_token(USER_A), last_event_id="1").open()
        assert stream.status == 200
        assert stream.headers["content-type"] == "text/event-stream"
        assert stream.headers["cache-control"] == "no-cache"
        await stream.read_until(lambda text: ids(text) == [2, 3])
        await change(USER_A, "four")
        await stream.read_until(lambda text: ids(text) == [2, 3, 4])
        events = messages(stream.text)
        assert [event["data"]["task_data"]["title"] for event in events] == ["two", "three", "four"]
        assert {event["type"] for event in events} == {"todo.task.created"}
        assert [event["sequence"] for event in events] == [f"{n:020d}" for n in (2, 3, 4)]
        await stream.leave()

    run(test)


def test_without_last_event_id_a_stream_starts_at_the_next_change(make_token):
    change.__wrapped__(USER_A, "before")

    async def test() -> None:
        stream = await Client(f"/api/{USER_A}/events", make_token(USER_A)).open()
        await stream.read_until(lambda text: text.startswith("retry: "))
        await change(USER_A, "after")
        await stream.read_until(lambda text: bool(ids(text)))
        assert [event["data"]["task_data"]["title"] for event in messages(stream.text)] == ["after"]
        await stream.leave()

    run(test)


def test_a_stream_carries_only_its_users_events(make_token):
    async def test() -> None:
        mine = await Client(f"/api/{USER_A}/events", make_token(USER_A), last_event_id="0").open()
        theirs = await Client(f"/api/{USER_B}/events", make_token(USER_B), last_event_id="0").open()
        for n in range(3):
            await change(USER_B, f"b{n}")
            await change(USER_A, f"a{n}")
        await mine.read_until(lambda text: len(ids(text)) == 3)
        await theirs.read_until(lambda text: len(ids(text)) == 3)
        await asyncio.sleep(0.2)  # anything more would have come by now
        await mine.read_until(lambda _: True, timeout=0.1)
        assert {event["userid"] for event in messages(mine.text)} == {USER_A}
        assert [event["data"]["task_data"]["title"] for event in messages(mine.text)] == ["a0", "a1", "a2"]
        assert [event["data"]["task_data"]["title"] for event in messages(theirs.text)] == ["b0", "b1", "b2"]
        await mine.leave()
        await theirs.leave()

    run(test)


@pytest.mark.parametrize(
    ("token", "path_user", "status"),
    [
        (None, USER_A, 401),
        ("expired", USER_A, 401),
        ("forged", USER_A, 401),
        ("valid", USER_B, 403),  # another user's stream
    ],
)
def test_a_refused_stream_is_a_json_error_before_any_event(make_token, token, path_user, status):
    tokens = {
        None: None,
        "expired": make_token(USER_A, ttl=-60),
        "forged": make_token(USER_A, key="another-secret-that-is-long-enough-0123456789"),
        "valid": make_token(USER_A),
    }
    change.__wrapped__(USER_B, "theirs")

    async def test() -> None:
        response = await Client(f"/api/{path_user}/events", tokens[token], last_event_id="0").open()
        assert response.status == status
        assert response.headers["content-type"] == "application/json"
        body = await response.json()
        assert set(body) == {"detail"}
        assert "theirs" not in response.text

    run(test)


@pytest.mark.parametrize("offered", ["abc", "-1", "1.5", "9" * 30])
def test_a_malformed_last_event_id_is_a_400(make_token, offered):
    async def test() -> None:
        response = await Client(f"/api/{USER_A}/events", make_token(USER_A), last_event_id=offered).open()
        assert response.status == 400
        assert "last_event_id" in await response.json()

    run(test)


def test_an_id_beyond_the_users_last_event_resets_the_client(make_token):
    change.__wrapped__(USER_A, "one")

    async def test() -> None:
        stream = await Client(f"/api/{USER_A}/events?last_event_id=50", make_token(USER_A)).open()
        text = await stream.read_until(lambda text: "event: reset" in text)
        assert '"reason": "unknown_event_id"' in text
        await change(USER_A, "two")
        await stream.read_until(lambda text: bool(ids(text)))
        assert ids(stream.text) == [2]  # on from the user's real last event
        await stream.leave()

    run(test)


def test_events_pruned_since_last_event_id_reset_the_client_then_the_rest_follows(make_token):
    for title in ("one", "two", "three"):
        change.__wrapped__(USER_A, title)
    Event.objects.filter(user_id=USER_A, sequence__lte=2).delete()  # pruned (events.relay.prune)

    async def test() -> None:
        stream = await Client(f"/api/{USER_A}/events", make_token(USER_A), last_event_id="0").open()
        text = await stream.read_until(lambda text: bool(ids(text)))
        assert text.index("event: reset") < text.index("id: 3")
        assert '"reason": "events_pruned", "last_event_id": 0' in text
        await stream.leave()

    run(test)


def test_a_quiet_stream_heartbeats_and_ends_when_its_token_expires(make_token, settings):
    async def test() -> None:
        stream = await Client(f"/api/{USER_A}/events", make_token(USER_A, ttl=2)).open()
        text = await stream.read_until(lambda text: "event: end" in text, timeout=6)
        assert text.count(": heartbeat") >= 2
        assert '"reason": "token_expired"' in text
        await stream.read_until(lambda _: False, timeout=2)  # and the response ends there
        await stream.app.wait(timeout=2)

    run(test)


def test_a_server_shutting_down_ends_every_stream_with_reconnect(make_token):
    """What todo_project.gunicorn's worker does on SIGTERM (tests/test_faults.py runs the server)."""

    async def test() -> None:
        assert live.end_streams() == 0  # no stream here yet
        streams = [await Client(f"/api/{user}/events", make_token(user)).open() for user in (USER_A, USER_A, USER_B)]
        for stream in streams:
            await stream.read_until(lambda text: "retry" in text)

        assert live.end_streams() == 3

        for stream in streams:
            await stream.read_until(lambda _: False, timeout=2)  # the response ends
            await stream.app.wait(timeout=2)
            assert stream.text.endswith('event: end\ndata: {"reason": "reconnect", "last_event_id": 0}\n\n')

    run(test)


def test_a_client_that_goes_away_frees_its_slot_and_the_hub_forgets_its_user(make_token, settings):
    settings.EVENTS_STREAMS_PER_USER = 2

    async def test() -> None:
        hub = live.Hub.here()
        first = await Client(f"/api/{USER_A}/events", make_token(USER_A)).open()
        second = await Client(f"/api/{USER_A}/events", make_token(USER_A)).open()
        await first.read_until(lambda text: "retry" in text)
        await second.read_until(lambda text: "retry" in text)
        assert hub.users == 1
        refused = await Client(f"/api/{USER_A}/events", make_token(USER_A)).open()
        assert refused.status == 429
        assert "EVENTS_STREAMS_PER_USER" in (await refused.json())["detail"]
        await first.leave()
        await second.leave()
        assert hub.users == 0
        again = await Client(f"/api/{USER_A}/events", make_token(USER_A)).open()
        assert again.status == 200
        await again.leave()

    run(test)
    assert slots.EVENT_STREAMS.take(USER_A)  # nothing is still held: a slot is free


def test_while_the_database_is_away_a_stream_heartbeats_and_then_sends_what_it_missed(make_token, monkeypatch):
    away = {"now": False}

    def failing_while_away(read: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            if away["now"]:
                raise DatabaseError("connection refused")
            return read(*args, **kwargs)

        return call

    monkeypatch.setattr(live, "events_after", failing_while_away(live.events_after))
    monkeypatch.setattr(live, "last_numbers", failing_while_away(live.last_numbers))

    async def test() -> None:
        stream = await Client(f"/api/{USER_A}/events", make_token(USER_A), last_event_id="0").open()
        await change(USER_A, "one")
        await stream.read_until(lambda text: ids(text) == [1])
        away["now"] = True
        await change(USER_A, "two")  # written and numbered; the stream's reads fail meanwhile
        await change(USER_A, "three")
        before = stream.text.count(": heartbeat")
        await stream.read_until(lambda text: text.count(": heartbeat") >= before + 2, timeout=4)
        assert ids(stream.text) == [1]
        away["now"] = False
        await stream.read_until(lambda text: ids(text) == [1, 2, 3])
        await stream.leave()

    run(test)


def test_a_body_over_the_limit_on_the_async_path_is_a_413_as_it_arrives(settings, make_token):
    settings.MAX_REQUEST_BODY_BYTES = 100

    async def test() -> None:
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
            "path": f"/api/{USER_A}/chat", "raw_path": f"/api/{USER_A}/chat".encode(), "query_string": b"",
            "root_path": "", "client": ("127.0.0.1", 50000), "server": ("testserver", 80),
            "headers": [(b"host", b"testserver"), (b"content-type", b"application/json"),
                        (b"transfer-encoding", b"chunked"),
                        (b"authorization", f"Bearer {make_token(USER_A)}".encode())],
        }  # fmt: skip
        app = ApplicationCommunicator(application, scope)
        for _ in range(3):  # a chunked body, 60 bytes at a time: the second goes over
            await app.send_input({"type": "http.request", "body": b"x" * 60, "more_body": True})
        start = await app.receive_output(timeout=5)
        assert start["status"] == 413
        body = await app.receive_output(timeout=5)
        assert json.loads(body["body"]) == {"detail": "Request body too large (limit 100 bytes)."}
        await app.wait(timeout=5)

    run(test)
