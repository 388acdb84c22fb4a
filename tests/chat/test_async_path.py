"""Chat turns on the async path (todo_project/asgi.py): a turn waits on the event loop while the model
answers, so many run at once, the plain API is answered meanwhile, and a turn whose client goes away
still runs to its end. Through the server's application in this process, against the fake provider."""

import asyncio
import json
import time
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from asgiref.testing import ApplicationCommunicator

from chat.models import Message
from tests.chat.conftest import reply, slow
from tests.conftest import USER_A
from todo_project.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)
DELAY = 1.0  # the fake provider's answer time


def request(
    method: str, path: str, token: str, body: dict[str, Any] | None = None, *, chunked: bool = False
) -> ApplicationCommunicator:
    """`chunked`: the body without a Content-Length, as a client streaming its upload sends it."""
    content = json.dumps(body).encode() if body is not None else b""
    length = (b"transfer-encoding", b"chunked") if chunked else (b"content-length", str(len(content)).encode())
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
        "client": ("127.0.0.1", 50000), "server": ("testserver", 80),
        "headers": [(b"host", b"testserver"), (b"authorization", f"Bearer {token}".encode()),
                    (b"content-type", b"application/json"), length],
    }  # fmt: skip
    app = ApplicationCommunicator(application, scope)
    app.body = content  # type: ignore[attr-defined]
    return app


async def answer(app: ApplicationCommunicator, timeout: float = 10) -> tuple[int, Any]:
    await app.send_input({"type": "http.request", "body": app.body, "more_body": False})  # type: ignore[attr-defined]
    start = await app.receive_output(timeout=timeout)
    body = b""
    while True:
        message = await app.receive_output(timeout=timeout)
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    return start["status"], json.loads(body)


def test_turns_wait_together_not_one_after_another_and_the_api_answers_meanwhile(fake_provider, make_token):
    turns = 20
    fake_provider.script = [reply("warm"), *(slow(DELAY) for _ in range(turns))]

    async def test() -> None:
        warm_up = request("POST", f"/api/{USER_A}/chat", make_token(USER_A), {"message": "hi"})
        assert (await answer(warm_up))[0] == 200  # the first turn of a process imports the SDK's models
        started = time.monotonic()
        chats = [
            asyncio.ensure_future(answer(request("POST", f"/api/u{n}/chat", make_token(f"u{n}"), {"message": "hi"})))
            for n in range(turns)
        ]
        await asyncio.sleep(DELAY / 4)
        status, tasks = await answer(request("GET", f"/api/{USER_A}/tasks", make_token(USER_A)))
        assert (status, tasks) == (200, [])
        assert not any(chat.done() for chat in chats)  # answered while every turn waits for the model
        results = await asyncio.gather(*chats)
        elapsed = time.monotonic() - started
        assert [status for status, _ in results] == [200] * turns
        assert {body["response"] for _, body in results} == {"too late"}
        assert elapsed < DELAY * turns / 4, f"{turns} turns of {DELAY} s took {elapsed:.1f} s: they waited in turn"

    async_to_sync(test)()
    assert Message.objects.filter(role=Message.Role.ASSISTANT).count() == turns + 1


def test_a_turn_whose_client_goes_away_runs_to_its_end_and_is_stored(fake_provider, make_token):
    fake_provider.script = [slow(DELAY)]

    async def test() -> None:
        app = request("POST", f"/api/{USER_A}/chat", make_token(USER_A), {"message": "hi"})
        await app.send_input({"type": "http.request", "body": app.body, "more_body": False})  # type: ignore[attr-defined]
        while not fake_provider.requests:  # the model is answering
            await asyncio.sleep(0.01)
        await app.send_input({"type": "http.disconnect"})  # the client leaves
        await app.wait(timeout=5)
        await asyncio.sleep(DELAY * 1.5)

    async_to_sync(test)()
    said = list(Message.objects.filter(user_id=USER_A).values_list("role", "content"))
    assert said == [(Message.Role.USER, "hi"), (Message.Role.ASSISTANT, "too late")]


def test_a_chat_stream_on_the_async_path_sends_each_event_as_it_is_made(fake_provider, make_token):
    fake_provider.script = [reply("Hello there friend")]

    async def test() -> None:
        app = request("POST", f"/api/{USER_A}/chat/stream", make_token(USER_A), {"message": "hi"}, chunked=True)
        await app.send_input({"type": "http.request", "body": app.body, "more_body": False})  # type: ignore[attr-defined]
        start = await app.receive_output(timeout=10)
        assert start["status"] == 200
        chunks = []
        while True:
            message = await app.receive_output(timeout=10)
            if message.get("body"):
                chunks.append(message["body"].decode())
            if not message.get("more_body"):
                break
        assert chunks[0].startswith("event: conversation")
        assert sum(chunk.startswith("event: delta") for chunk in chunks) == 3  # one message per word
        assert chunks[-1].startswith("event: done")

    async_to_sync(test)()
