"""The reference frontend (examples/frontend), end to end: Chromium drives the React page, which signs
up and in with a real Better Auth server (Node, email and password, the `jwt` plugin) and calls the
API served by `make serve`, once with each kind of token the contract names: the jwt plugin's EdDSA
tokens (verified through the JWKS that Better Auth publishes), HS256 tokens signed with the shared
secret, and Better Auth's own session cache cookie (an HS256 JWT without `sub`). With each: tasks,
the assistant, signing in again; and a list, with a task whose subtask completes with it.

Needs `make frontend` (npm packages and the built page; `make test` runs it first) and PostgreSQL for
Better Auth's own tables. The API's database follows the pass: a SQLite file in the SQLite pass, a
PostgreSQL database in the PostgreSQL pass, both made for this module and removed after it.
"""

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import jwt
import psycopg
import pytest
from django.conf import settings
from playwright.sync_api import Browser, Page, Request, expect

from tests.browser.conftest import Console, open_page

REPO = Path(__file__).resolve().parents[2]
FRONTEND = REPO / "examples" / "frontend"
SECRET = "frontend-e2e-" + secrets.token_urlsafe(32)
# The PostgreSQL server to make databases on (any database of it: the URL's own is not touched).
POSTGRES_URL = os.environ.get("FRONTEND_POSTGRES_URL") or "postgres://postgres@127.0.0.1:5432/postgres"
SERVER_URL = POSTGRES_URL.split("?", 1)[0].rsplit("/", 1)[0]
STARTUP_SECONDS = 240  # `make serve` checks the install, migrates and collects static files first


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def call(url: str, token: str | None = None) -> tuple[int, object]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as response:  # noqa: S310 - loopback
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


class Process:
    """A server in its own process group (make's children included), its output in a file."""

    def __init__(self, name: str, command: list[str], *, cwd: Path, env: dict[str, str], log: Path) -> None:
        self.name, self.log = name, log
        self.popen = subprocess.Popen(  # noqa: S603
            command, cwd=cwd, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True
        )

    def wait_until(self, url: str, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                pytest.fail(f"{self.name} exited with {self.popen.returncode}:\n{self.output()}")
            try:
                if call(url)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        pytest.fail(f"{self.name} did not answer {url} within {seconds} s:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=10)


@dataclass(frozen=True)
class Stack:
    api: str  # the Django API, as `make serve` runs it
    frontend: str  # the Node server: Better Auth and the page
    token_kind: str


def _postgres_database(name: str) -> Iterator[str]:
    """A new, empty PostgreSQL database on the test server; dropped afterwards."""
    admin = psycopg.connect(f"{SERVER_URL}/postgres", autocommit=True)
    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{SERVER_URL}/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(scope="module")
def ports() -> tuple[int, int]:
    return _free_port(), _free_port()


@pytest.fixture(scope="module")
def auth_database() -> Iterator[str]:
    yield from _postgres_database(f"todo_frontend_auth_{os.getpid()}")


@pytest.fixture(scope="module")
def api(ports, tmp_path_factory) -> Iterator[str]:
    """`make serve` as a deployment runs it (debug off, gunicorn), trusting the frontend's Better Auth."""
    if shutil.which("make") is None:
        pytest.fail("`make` is needed to start the API as `make serve`")
    api_port, frontend_port = ports
    folder = tmp_path_factory.mktemp("frontend-api")
    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        databases = _postgres_database(f"todo_frontend_api_{os.getpid()}")
        database_url = next(databases)
    else:
        databases, database_url = iter(()), f"sqlite:///{folder / 'api.sqlite3'}"
    frontend = f"http://127.0.0.1:{frontend_port}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url, "HOST": "127.0.0.1", "PORT": str(api_port),
        "DJANGO_DEBUG": "false", "DJANGO_SECRET_KEY": secrets.token_urlsafe(48),
        "BETTER_AUTH_SECRET": SECRET,
        "BETTER_AUTH_URL": frontend,  # JWKS at <frontend>/api/auth/jwks; iss and aud checked against it
        "CORS_ALLOWED_ORIGINS": frontend,
        "OPENAI_API_KEY": "",  # the offline model answers the chat
        "REDIS_URL": "", "WEB_CONCURRENCY": "1", "THREADS": "4", "LOG_LEVEL": "WARNING",
    }  # fmt: skip
    env.pop("MAKEFLAGS", None)
    env.pop("MFLAGS", None)
    command = ["make", "--no-print-directory", "serve"]
    server = Process("make serve", command, cwd=REPO, env=env, log=folder / "serve.log")
    worker = None
    try:
        server.wait_until(f"http://127.0.0.1:{api_port}/health", STARTUP_SECONDS)
        # Beside the server, as in production: it numbers the events the live stream sends.
        worker = Process("the worker", [sys.executable, "manage.py", "worker"], cwd=REPO, env=env,
                         log=folder / "worker.log")  # fmt: skip
        yield f"http://127.0.0.1:{api_port}"
    finally:
        if worker is not None:
            worker.stop()
        server.stop()
        next(databases, None)  # drops the PostgreSQL database


@pytest.fixture(scope="module", params=["jwks", "hs256", "cookie-cache"])
def stack(request, ports, api, auth_database, tmp_path_factory) -> Iterator[Stack]:
    """The Node server of examples/frontend, sending the API one kind of token."""
    node = shutil.which("node")
    if node is None or not (FRONTEND / "node_modules").is_dir() or not (FRONTEND / "dist" / "index.html").is_file():
        pytest.fail("the reference frontend is not installed: run `make frontend` (needs Node.js 20+ and npm)")
    frontend_port = ports[1]
    env = {
        **os.environ,
        "HOST": "127.0.0.1", "PORT": str(frontend_port), "BETTER_AUTH_SECRET": SECRET,
        "BETTER_AUTH_URL": f"http://127.0.0.1:{frontend_port}", "API_URL": api,
        "AUTH_DATABASE_URL": auth_database, "TOKEN_KIND": request.param,
    }  # fmt: skip
    log = tmp_path_factory.mktemp(f"frontend-{request.param}") / "node.log"
    server = Process("the frontend's Node server", [node, "server.mjs"], cwd=FRONTEND, env=env, log=log)
    try:
        server.wait_until(f"http://127.0.0.1:{frontend_port}/config.json", 60)
        yield Stack(api=api, frontend=f"http://127.0.0.1:{frontend_port}", token_kind=request.param)
    finally:
        server.stop()


@pytest.fixture
def page(browser: Browser, stack: Stack, console: Console) -> Iterator[Page]:
    """The reference frontend's page (overrides the live-server page)."""
    with open_page(browser, stack.frontend, console) as tab:
        yield tab


def sign_up(page: Page, name: str, email: str, password: str) -> str:
    """Sign up on the page as a new user; their Better Auth user id."""
    page.goto("/")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_text(f"Signed in as {email}")).to_be_visible()
    return page.get_by_test_id("user-id").inner_text()


def api_token(user_id: str) -> str:
    """A token of the user for checking the API's answers from the test (HS256, the shared secret)."""
    now = int(time.time())
    return jwt.encode({"sub": user_id, "iat": now, "exp": now + 300}, SECRET, algorithm="HS256")


def test_sign_up_add_toggle_chat_and_sign_in_again(page: Page, stack: Stack, console: Console) -> None:
    api_calls: list[tuple[str, str, str | None]] = []

    def record(request: Request) -> None:
        if request.url.startswith(stack.api):
            api_calls.append((request.method, request.url, request.headers.get("authorization")))

    page.on("request", record)
    email = f"ada-{stack.token_kind}-{secrets.token_hex(4)}@example.com"
    password = "correct horse battery staple"

    user_id = sign_up(page, "Ada", email, password)
    expect(page.get_by_text("No tasks yet.")).to_be_visible()

    page.get_by_label("New task").fill("Post the letters")
    page.get_by_role("button", name="Add").click()
    letters = page.get_by_role("checkbox", name="Post the letters")
    expect(letters).not_to_be_checked()
    letters.click()
    expect(letters).to_be_checked()

    page.get_by_label("Message").fill("add a task to water the plants")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("list", name="Conversation")).to_contain_text(re.compile("water the plants", re.I))
    expect(page.get_by_role("checkbox", name=re.compile("water the plants", re.I))).not_to_be_checked()
    expect(page.get_by_role("checkbox")).to_have_count(2)
    expect(letters).to_be_checked()
    expect(page.get_by_role("alert")).to_have_count(0)

    # The API holds both, under the Better Auth user's id, as the page showed them.
    check = api_token(user_id)
    status, tasks = call(f"{stack.api}/api/{user_id}/tasks", check)
    assert status == 200, tasks
    assert sorted((task["title"].lower(), task["completed"]) for task in tasks) == [
        ("post the letters", True),
        ("water the plants", False),
    ]
    # Every call carried the kind of token under test, and the API accepted each one.
    tokens = {header.split()[1] for _, _, header in api_calls if header}
    assert {jwt.get_unverified_header(token)["alg"] for token in tokens} == {
        "EdDSA" if stack.token_kind == "jwks" else "HS256"
    }
    claims = [jwt.decode(token, options={"verify_signature": False}) for token in tokens]
    if stack.token_kind == "cookie-cache":  # Better Auth's shape: the user id only in session/user
        assert all("sub" not in claim and claim["session"]["userId"] == user_id for claim in claims)
    else:
        assert all(claim["sub"] == user_id for claim in claims)
    methods = [method for method, _, header in api_calls if header]
    assert {"GET", "POST", "PATCH"} <= set(methods), api_calls

    # Signed out and in again, the tasks are there; deleting one removes it from the API too.
    page.get_by_role("button", name="Sign out").click()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("checkbox")).to_have_count(2)
    page.get_by_role("button", name="Delete Post the letters").click()
    expect(page.get_by_role("checkbox")).to_have_count(1)
    status, tasks = call(f"{stack.api}/api/{user_id}/tasks", check)
    assert [task["title"].lower() for task in tasks] == ["water the plants"]
    console.assert_clean()


def test_a_wrong_password_is_shown_and_nothing_is_called(page: Page, stack: Stack) -> None:
    api_calls: list[str] = []
    page.on("request", lambda request: api_calls.append(request.url) if request.url.startswith(stack.api) else None)
    page.goto("/")
    page.get_by_label("Email").fill(f"nobody-{secrets.token_hex(4)}@example.com")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page.get_by_role("button", name="Sign in")).to_be_enabled()
    assert api_calls == []


def test_a_list_holds_a_task_whose_subtasks_complete_with_it(page: Page, stack: Stack, console: Console) -> None:
    user_id = sign_up(page, "Grace", f"grace-{stack.token_kind}-{secrets.token_hex(4)}@example.com", "a long password")
    lists = page.get_by_role("navigation", name="Lists")
    tasks = page.get_by_role("region", name="Tasks")
    inbox = lists.get_by_role("button", name=re.compile(r"^Inbox\b"))
    expect(inbox).to_have_attribute("aria-pressed", "true")
    tasks.get_by_label("New task").fill("Call the plumber")
    tasks.get_by_role("button", name="Add", exact=True).click()
    expect(tasks.get_by_role("checkbox", name="Call the plumber")).not_to_be_checked()
    expect(inbox).to_have_accessible_name("Inbox 1 open")

    # A new list, selected: it shows its own tasks (none yet), and new tasks go to it.
    lists.get_by_label("New list").fill("Garden")
    lists.get_by_role("button", name="Create list").click()
    garden = lists.get_by_role("button", name=re.compile(r"^Garden\b"))
    expect(garden).to_have_accessible_name("Garden 0 open")
    expect(lists.get_by_role("button")).to_have_text([re.compile("^Inbox"), re.compile("^Garden"), "Create list"])
    garden.click()
    expect(garden).to_have_attribute("aria-pressed", "true")
    expect(inbox).to_have_attribute("aria-pressed", "false")
    expect(tasks.get_by_role("heading", name="Garden")).to_be_visible()
    expect(tasks.get_by_text("No tasks yet.")).to_be_visible()
    tasks.get_by_label("New task").fill("Plant the bulbs")
    tasks.get_by_role("button", name="Add", exact=True).click()
    parent = tasks.get_by_role("checkbox", name="Plant the bulbs", exact=True)
    expect(parent).not_to_be_checked()

    # Two subtasks, indented under it; one deleted again.
    tasks.get_by_role("button", name="Add subtask to Plant the bulbs").click()
    for title in ("Buy bulbs", "Dig the holes"):
        tasks.get_by_label("New subtask of Plant the bulbs").fill(title)
        tasks.get_by_role("button", name="Add subtask", exact=True).click()
        expect(tasks.get_by_label("New subtask of Plant the bulbs")).to_have_value("")
    subtasks = tasks.get_by_role("list", name="Subtasks of Plant the bulbs")
    expect(subtasks.get_by_role("checkbox")).to_have_count(2)
    subtasks.get_by_role("button", name="Delete Dig the holes").click()
    expect(subtasks.get_by_role("checkbox")).to_have_count(1)
    expect(garden).to_have_accessible_name("Garden 2 open")

    # Completing the task completes its subtask too: the page shows what the API did.
    parent.click()
    expect(parent).to_be_checked()
    expect(subtasks.get_by_role("checkbox", name="Buy bulbs")).to_be_checked()
    expect(garden).to_have_accessible_name("Garden 0 open")
    expect(page.get_by_role("alert")).to_have_count(0)

    check = api_token(user_id)
    status, found = call(f"{stack.api}/api/{user_id}/lists", check)
    assert status == 200, found
    assert [(item["name"], item["inbox"], item["open_count"]) for item in found] == [
        ("Inbox", True, 1),
        ("Garden", False, 0),
    ]
    garden_id = found[1]["id"]
    status, in_garden = call(f"{stack.api}/api/{user_id}/tasks?list={garden_id}", check)
    assert status == 200, in_garden
    by_title = {task["title"]: task for task in in_garden}
    assert sorted(by_title) == ["Buy bulbs", "Plant the bulbs"]  # the deleted subtask is in the trash
    top, sub = by_title["Plant the bulbs"], by_title["Buy bulbs"]
    assert (top["list_id"], top["parent_id"], top["completed"]) == (garden_id, None, True)
    assert (sub["list_id"], sub["parent_id"], sub["completed"]) == (garden_id, top["id"], True)
    status, tree = call(f"{stack.api}/api/{user_id}/tasks/{top['id']}?include=subtasks", check)
    assert status == 200, tree
    assert [(task["title"], task["completed"]) for task in tree["subtasks"]] == [("Buy bulbs", True)]
    status, in_inbox = call(f"{stack.api}/api/{user_id}/tasks?list=inbox", check)
    assert [(task["title"], task["list_id"], task["completed"]) for task in in_inbox] == [
        ("Call the plumber", None, False)
    ]

    # Back in the Inbox: its task only.
    inbox.click()
    expect(tasks.get_by_role("heading", name="Inbox")).to_be_visible()
    expect(tasks.get_by_role("checkbox")).to_have_count(1)
    expect(tasks.get_by_role("checkbox", name="Call the plumber")).to_be_visible()
    console.assert_clean()


def test_a_change_in_one_tab_shows_in_the_other_without_a_reload(
    browser: Browser, stack: Stack, console: Console
) -> None:
    """Two tabs of one signed-in user: each follows the live stream (GET /api/<user>/events)."""
    with open_page(browser, stack.frontend, console) as first:
        email = f"grace-{stack.token_kind}-{secrets.token_hex(4)}@example.com"
        sign_up(first, "Grace", email, "correct horse battery staple")
        second = first.context.new_page()  # another tab: the same session
        second.on("pageerror", console.on_page_error)
        loads: list[str] = []
        second.on("request", lambda request: loads.append(request.url) if request.resource_type == "document" else None)
        second.goto("/")
        expect(second.get_by_text("No tasks yet.")).to_be_visible()
        expect(first.get_by_test_id("live")).to_have_text("live")
        expect(second.get_by_test_id("live")).to_have_text("live")

        first.get_by_label("New task").fill("Call the plumber")
        first.get_by_role("button", name="Add").click()
        plumber = second.get_by_role("checkbox", name="Call the plumber")
        expect(plumber).to_be_visible()  # from the stream: the tab was not reloaded
        plumber.click()
        expect(first.get_by_role("checkbox", name="Call the plumber")).to_be_checked()

        second.get_by_label("Message").fill("add a task to buy milk")
        second.get_by_role("button", name="Send").click()  # streamed through /chat/stream
        expect(second.get_by_role("list", name="Conversation")).to_contain_text(re.compile("buy milk", re.I))
        expect(first.get_by_role("checkbox", name=re.compile("buy milk", re.I))).to_be_visible()
        assert len(loads) == 1, loads  # the second tab loaded its page once
        expect(first.get_by_role("alert")).to_have_count(0)
        expect(second.get_by_role("alert")).to_have_count(0)
    console.assert_clean()
