"""The MCP server through the `mcp` client library: stdio against a real `manage.py mcp` subprocess,
Streamable HTTP against the real Django stack served on loopback."""

import json
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.management import CommandError, call_command
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
from mcp import Client, MCPError, StdioServerParameters
from mcp.client.stdio import get_default_environment, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult

from events.models import Event
from events.sequencer import sequence_round
from tasks import selectors, services
from tasks.services import lists
from tests.conftest import USER_A, USER_B

ROOT = Path(__file__).resolve().parents[2]
TOOLS = {
    "add_task",
    "list_tasks",
    "complete_task",
    "delete_task",
    "update_task",
    "create_list",
    "rename_list",
    "list_lists",
}
TIMEOUT = 30  # generous: a loaded CI machine starts two Django processes in the stdio test


def answer(result: CallToolResult) -> Any:
    """The tool's JSON, as the model reads it."""
    assert len(result.content) == 1
    return json.loads(result.content[0].text)


async def call(client: Client, name: str, /, **arguments: Any) -> Any:
    result = await client.call_tool(name, arguments)
    body = answer(result)
    failed = isinstance(body, dict) and body.get("status") in {"not_found", "invalid"}
    assert result.is_error == failed, body
    return body


async def check_tools(client: Client) -> None:
    tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert set(tools) == TOOLS
    assert all("user" not in name for tool in tools.values() for name in tool.input_schema["properties"])
    assert tools["list_tasks"].annotations.read_only_hint is True
    assert tools["delete_task"].annotations.destructive_hint is True
    assert tools["list_lists"].annotations.read_only_hint is True


# stdio ------------------------------------------------------------------------------------------


@pytest.fixture
def stdio_env(tmp_path: Path) -> dict[str, str]:
    """A database of the subprocesses' own, migrated."""
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "LOG_LEVEL": "WARNING"}
    command = [sys.executable, "manage.py", "migrate", "--noinput", "--skip-checks", "-v0"]
    subprocess.run(command, cwd=ROOT, env=get_default_environment() | env, check=True, timeout=60)  # noqa: S603
    return env


@asynccontextmanager
async def stdio_session(user_id: str, env: dict[str, str], errlog: Any) -> Any:
    """`manage.py mcp --user USER_ID` as a desktop assistant launches it."""
    args = ["manage.py", "mcp", "--user", user_id]
    params = StdioServerParameters(command=sys.executable, args=args, env=env, cwd=ROOT)
    async with Client(stdio_client(params, errlog=errlog), read_timeout_seconds=TIMEOUT) as client:
        yield client


def test_stdio_serves_the_tools_to_the_user_it_runs_for(stdio_env: dict[str, str], tmp_path: Path):
    async def scenario() -> None:
        with (tmp_path / "stderr.log").open("w") as errlog, anyio.fail_after(TIMEOUT):
            async with stdio_session(USER_A, stdio_env, errlog) as a, stdio_session(USER_B, stdio_env, errlog) as b:
                await check_tools(a)
                theirs = await call(b, "add_task", title="Their task")

                milk = await call(
                    a, "add_task", title="Buy milk", priority="high", tags=["Errands"], due="2030-01-02T09:00:00+01:00"
                )
                assert milk == {
                    "task_id": milk["task_id"], "status": "created", "title": "Buy milk", "priority": "high",
                    "tags": ["errands"], "due_at": "2030-01-02T08:00:00+00:00",
                }  # fmt: skip
                report = await call(a, "add_task", title="Write report", description="Q3")
                assert report["status"] == "created"

                assert [item["title"] for item in await call(a, "list_tasks")] == ["Write report", "Buy milk"]
                assert [item["id"] for item in await call(a, "list_tasks", priority="high")] == [milk["task_id"]]
                due_soon = await call(a, "list_tasks", status="pending", due_before="2030-02-01T00:00Z", tag="errands")
                assert [item["id"] for item in due_soon] == [milk["task_id"]]
                assert due_soon[0]["due_at"] == "2030-01-02T08:00:00+00:00"
                invalid = await call(a, "list_tasks", due_before="tomorrow", priority="urgent")
                assert invalid["status"] == "invalid"
                assert set(invalid["errors"]) <= {"due_before", "priority"}

                done = await call(a, "complete_task", task_id=report["task_id"])
                assert done == {"task_id": report["task_id"], "status": "completed", "title": "Write report"}
                assert [item["id"] for item in await call(a, "list_tasks", status="completed")] == [report["task_id"]]

                updated = await call(a, "update_task", task_id=milk["task_id"], title="Buy oat milk", due="none")
                assert updated == {
                    "task_id": milk["task_id"], "status": "updated", "title": "Buy oat milk", "priority": "high",
                    "tags": ["errands"],
                }  # fmt: skip
                nothing = await call(a, "update_task", task_id=milk["task_id"])
                assert nothing["status"] == "invalid"
                bad_due = await call(a, "update_task", task_id=milk["task_id"], due="2030-01-02T09:00")
                assert bad_due == {"status": "invalid", "errors": {"due": [bad_due["errors"]["due"][0]]}}

                deleted = await call(a, "delete_task", task_id=milk["task_id"])
                assert (deleted["status"], deleted["title"]) == ("deleted", "Buy oat milk")
                assert [item["id"] for item in await call(a, "list_tasks")] == [report["task_id"]]

                for task_id in (theirs["task_id"], milk["task_id"], 999_999):  # someone else's, deleted, unknown
                    for name, extra in (("complete_task", {}), ("update_task", {"title": "x"}), ("delete_task", {})):
                        missing = await call(a, name, task_id=task_id, **extra)
                        assert (missing["status"], missing["task_id"]) == ("not_found", task_id)
                assert await call(b, "list_tasks") == [
                    {"id": theirs["task_id"], "title": "Their task", "completed": False, "priority": "none",
                     "tags": [], "due_at": None}
                ]  # fmt: skip

    anyio.run(scenario)


@pytest.mark.parametrize("user", ["", "   "])
def test_the_stdio_command_refuses_a_blank_user(user: str):
    with pytest.raises(CommandError, match="blank"):
        call_command("mcp", user=user)


# Streamable HTTP --------------------------------------------------------------------------------


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def mcp_url(transactional_db: None) -> Iterator[str]:
    """The whole Django stack (middleware, URLs, the view) on a loopback port, as runserver serves it."""
    server = ThreadedWSGIServer(("127.0.0.1", 0), QuietHandler)
    server.set_app(WSGIHandler())
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/mcp"
    finally:
        server.shutdown()
        server.server_close()


@asynccontextmanager
async def http_client(url: str, token: str, mode: str = "auto") -> Any:
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT) as http,
        Client(streamable_http_client(url, http_client=http), mode=mode, read_timeout_seconds=TIMEOUT) as client,
    ):
        yield client


@pytest.mark.parametrize("mode", ["auto", "legacy"])  # the 2026-07-28 single exchange, and the initialize handshake
def test_http_scopes_every_call_to_the_token_user(
    mcp_url: str, make_token: Callable[..., str], task_factory: Any, mode: str
):
    theirs = task_factory(user_id=USER_B, title="Their task")

    async def scenario() -> None:
        with anyio.fail_after(TIMEOUT):
            async with http_client(mcp_url, make_token(USER_A), mode) as a:
                await check_tools(a)
                added = await call(a, "add_task", title="Mine", tags=["home"], due="2030-05-01T12:00:00Z")
                assert (added["status"], added["due_at"]) == ("created", "2030-05-01T12:00:00+00:00")
                assert [item["id"] for item in await call(a, "list_tasks", tag="home")] == [added["task_id"]]
                assert await call(a, "list_tasks", search="Their") == []
                for name, extra in (("complete_task", {}), ("update_task", {"title": "Hijacked"}), ("delete_task", {})):
                    missing = await call(a, name, task_id=theirs.id, **extra)
                    assert missing["status"] == "not_found"
                updated = await call(a, "update_task", task_id=added["task_id"], priority="low")
                assert (updated["status"], updated["priority"]) == ("updated", "low")
                assert (await call(a, "complete_task", task_id=added["task_id"]))["status"] == "completed"
                assert (await call(a, "delete_task", task_id=added["task_id"]))["status"] == "deleted"
            async with http_client(mcp_url, make_token(USER_B), mode) as b:
                assert [item["title"] for item in await call(b, "list_tasks")] == ["Their task"]

    anyio.run(scenario)
    theirs.refresh_from_db()
    assert (theirs.title, theirs.completed, theirs.deleted_at) == ("Their task", False, None)
    assert list(selectors.task_list(user_id=USER_A)) == []
    while sequence_round():  # the events proper (tasks.speedups.update_recording)
        pass
    kinds = Event.objects.filter(user_id=USER_A).order_by("id").values_list("type", flat=True)
    assert list(kinds) == ["todo.task.created", "todo.task.updated", "todo.task.completed", "todo.task.deleted"]
    assert not Event.objects.filter(user_id=USER_B).exists()  # their task was made by the factory, then untouched


def test_http_lists_and_subtasks_through_the_tools(mcp_url: str, make_token: Callable[..., str]):
    theirs_list = lists.list_create(user_id=USER_B, name="Theirs")
    theirs_task = services.task_create(user_id=USER_B, title="Their task")

    async def scenario() -> None:
        with anyio.fail_after(TIMEOUT):
            async with http_client(mcp_url, make_token(USER_A)) as a:
                work = await call(a, "create_list", name="Work", color="#22AA55")
                assert work == {"list_id": work["list_id"], "status": "created", "name": "Work"}
                report = await call(a, "add_task", title="Report", list="work")
                assert (report["list_id"], report["list"]) == (work["list_id"], "Work")
                outline = await call(a, "add_task", title="Outline", parent=report["task_id"])
                assert (outline["list_id"], outline["parent_id"]) == (work["list_id"], report["task_id"])
                milk = await call(a, "add_task", title="Milk")

                listed = await call(a, "list_tasks", list=work["list_id"])
                assert [item["id"] for item in listed] == [outline["task_id"], report["task_id"]]
                assert [item["id"] for item in await call(a, "list_tasks", parent=report["task_id"])] == [
                    outline["task_id"]
                ]
                assert [item["id"] for item in await call(a, "list_tasks", list="Inbox")] == [milk["task_id"]]

                moved = await call(a, "update_task", task_id=report["task_id"], list="Inbox")
                assert "list_id" not in moved
                home = await call(a, "rename_list", list=work["list_id"], name="Home")
                assert (home["status"], home["name"]) == ("renamed", "Home")
                overview = await call(a, "list_lists")
                assert [(item["name"], item["open_count"]) for item in overview] == [("Inbox", 3), ("Home", 0)]

                others = [("add_task", {"title": "X"}), ("list_tasks", {}), ("rename_list", {"name": "X"}),
                          ("update_task", {"task_id": milk["task_id"]})]  # fmt: skip
                for ref in (theirs_list.id, 10**9, "Theirs"):  # someone else's, by id and by name; unknown
                    for name, extra in others:
                        missing = await call(a, name, list=ref, **extra)
                        assert missing == {"list": ref, "status": "not_found", "error": f"List {ref} not found."}
                for parent in (theirs_task.id, 10**9):
                    refused = await call(a, "add_task", title="X", parent=parent)
                    assert refused == {"status": "invalid", "errors": {"parent": ["No such task."]}}
                    missing = await call(a, "list_tasks", parent=parent)
                    assert (missing["status"], missing["task_id"]) == ("not_found", parent)

    anyio.run(scenario)
    theirs_list.refresh_from_db()
    assert theirs_list.name == "Theirs"
    assert not selectors.task_list(user_id=USER_A).filter(title="X").exists()
    assert selectors.task_list(user_id=USER_B).count() == 1


INITIALIZE = {
    "jsonrpc": "2.0", "id": 1, "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
}  # fmt: skip


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Bearer not-a-jwt", "Basic dXNlcjpwYXNz", "expired", "wrong-secret"],
)
def test_http_refuses_a_missing_or_bad_token_before_the_mcp_layer(
    mcp_url: str, make_token: Callable[..., str], authorization: str | None
):
    tokens = {"expired": make_token(USER_A, ttl=-3600), "wrong-secret": make_token(USER_A, key="x" * 48)}
    headers = {"Accept": "application/json, text/event-stream"}
    if authorization:
        headers["Authorization"] = f"Bearer {tokens[authorization]}" if authorization in tokens else authorization

    response = httpx2.post(mcp_url, json=INITIALIZE, headers=headers, timeout=TIMEOUT)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.headers["Content-Type"] == "application/json"
    assert set(response.json()) == {"detail"}


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_http_answers_only_post(mcp_url: str, make_token: Callable[..., str], method: str):
    """Stateless: no session to delete, and no event stream to hold a server thread open for."""
    headers = {"Authorization": f"Bearer {make_token(USER_A)}", "Accept": "application/json, text/event-stream"}

    response = httpx2.request(method, mcp_url, headers=headers, timeout=TIMEOUT)

    assert (response.status_code, response.headers["Allow"]) == (405, "POST")


def test_the_mcp_client_cannot_connect_without_a_valid_token(mcp_url: str):
    async def connect() -> None:
        with anyio.fail_after(TIMEOUT):
            async with http_client(mcp_url, "not-a-jwt"):
                pass

    with pytest.raises(BaseExceptionGroup) as raised:
        anyio.run(connect)
    assert raised.group_contains(MCPError, match="error response")
