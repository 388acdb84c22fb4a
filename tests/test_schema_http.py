"""Schemathesis over HTTP against the production server as `make serve` starts it (gunicorn with
todo_project.gunicorn, debug off, on a throwaway database), as an outside user would run it: every
operation of the schema the server serves, in the phases examples, coverage, fuzzing (30 examples per
operation) and stateful (the schema's OpenAPI links: a created task is read, updated, completed, deleted
and restored), with a token minted for one user; once with the throttle as configured by default (429s
must be documented and well-formed) and once with it high enough that every operation's logic runs.

tests/test_schema_fuzz.py runs in process and checks more per example (that schema-valid data is accepted,
but for the rules the schema cannot state); this test checks what only a real server shows (the WSGI
server, streaming, the throttle in Redis, the pool, links across requests). Deselect with -m "not http_fuzz".
"""

import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from todo_project.auth import mint_token

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
FUZZ_USER = "fuzz-user"
PHASES = "examples,coverage,fuzzing,stateful"
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
# X-Timezone is an enum of every IANA zone (some 600): the coverage phase would send each one to every
# operation that takes it, nine in ten of the run's cases. The run's copy of the served schema has these
# instead: UTC, DST on either hemisphere, and odd offsets (half and quarter hours, +13:45, a 30-minute DST).
TIME_ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "Asia/Kathmandu",
              "Pacific/Chatham", "Australia/Lord_Howe"]  # fmt: skip
# The coverage phase sends the smallest valid id, 1, as the list_id of most task bodies: the fuzz user's
# Inbox, made first in the fresh database, is that list (any other id is someone else's list: a 400).
SEED = f"""
import django; django.setup()
from django.core.management import call_command
from tasks.services.lists import inbox
call_command("migrate", verbosity=0)
print(inbox(user_id={FUZZ_USER!r}).id)
"""
RUNS = {
    "throttled": {},  # API_RATE and CHAT_RATE as configured by default
    "unthrottled": {"API_RATE": "100000000/min", "CHAT_RATE": "100000000/min"},
}

pytestmark = pytest.mark.http_fuzz


@pytest.fixture(scope="module")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh database of the suite's kind (SQLite file, or a PostgreSQL database dropped afterwards)."""
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        yield f"sqlite:///{tmp_path_factory.mktemp('http-fuzz') / 'db.sqlite3'}"
        return
    params = connection.settings_dict
    host, port, user, password = (
        params["HOST"] or "127.0.0.1",
        params["PORT"] or 5432,
        params["USER"],
        params["PASSWORD"],
    )
    name = f"todo_http_fuzz_{os.getpid()}"
    with psycopg.connect(host=host, port=port, user=user, password=password, dbname="postgres",
                         autocommit=True) as admin:  # fmt: skip
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
        credentials = f"{user}:{password}@" if password else f"{user}@"
        try:
            yield f"postgres://{credentials}{host}:{port}/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def server_env(database_url: str) -> dict[str, str]:
    """The environment of `make serve` (debug off, its WEB_CONCURRENCY and THREADS), migrated and seeded."""
    env = {name: value for name, value in os.environ.items() if not name.startswith(("API_", "CHAT_", "DB_"))}
    env.update(
        DATABASE_URL=database_url, DJANGO_DEBUG="false", DJANGO_SECRET_KEY=secrets.token_urlsafe(48),
        BETTER_AUTH_SECRET=secrets.token_urlsafe(48), BETTER_AUTH_URL="", BETTER_AUTH_JWKS_URL="",
        OPENAI_API_KEY="", REDIS_URL=os.environ.get("TEST_REDIS_URL", ""), HOST="127.0.0.1",
        WEB_CONCURRENCY="2", THREADS="8", LOG_LEVEL="INFO", LOG_FORMAT="json", DJANGO_HTTPS="false",
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost", EVENTS_STREAM_MAX_SECONDS="0.5",
        DJANGO_SETTINGS_MODULE="todo_project.settings",
    )  # fmt: skip
    seeded = subprocess.run(  # noqa: S603 - this interpreter, our script
        [sys.executable, "-c", SEED], cwd=ROOT, env=env, check=True, timeout=300, capture_output=True, text=True
    )
    assert seeded.stdout.split()[-1] == "1", "the fuzz user's Inbox must be list 1 (see SEED)"
    return env


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def production_server(env: dict[str, str], log: Path) -> Iterator[str]:
    """gunicorn as `make serve` runs it; yields its URL once /health answers."""
    port = free_port()
    command = [str(BIN / "gunicorn"), "-c", "python:todo_project.gunicorn", "todo_project.asgi:application"]
    with log.open("w") as output:
        server = subprocess.Popen(command, cwd=ROOT, env={**env, "PORT": str(port)}, stdout=output, stderr=output)  # noqa: S603
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2):  # noqa: S310 - loopback
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the server did not start:\n{log.read_text()[-3000:]}") from None
                time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def served_schema(url: str, path: Path) -> Path:
    """The schema the server serves, with TIME_ZONES for X-Timezone's enum."""
    request = urllib.request.Request(f"{url}/api/schema/", headers={"Accept": "application/vnd.oai.openapi+json"})  # noqa: S310 - loopback
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
        schema = json.load(response)
    for operations in schema["paths"].values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter["name"] == "X-Timezone":
                    assert set(TIME_ZONES) <= set(parameter["schema"]["enum"])
                    parameter["schema"]["enum"] = TIME_ZONES
    path.write_text(json.dumps(schema))
    return path


def schemathesis_config(path: Path) -> Path:
    """The run's settings that have no command-line option: the user in every path, and the token (read from
    the environment, never on a command line)."""
    path.write_text(
        f'headers = {{ Authorization = "Bearer ${{FUZZ_TOKEN}}" }}\n[parameters]\n"path.user_id" = "{FUZZ_USER}"\n'
    )
    return path


def summary(output: str) -> str:
    """The run's closing figures: operations tested, phases, test cases, API links."""
    wanted = re.compile(r"Tested:|Selected:|generated|API Links:|Scenarios:|^ *[✅❌🚫⏭⚠]|^  - ", re.MULTILINE)
    return "\n".join(line.strip() for line in output.splitlines() if wanted.search(line))


@pytest.mark.parametrize("run", list(RUNS))
def test_schemathesis_over_http_finds_nothing(run, server_env, settings, tmp_path):
    env = {**server_env, **RUNS[run]}
    settings.SIMPLE_JWT = {**settings.SIMPLE_JWT, "SIGNING_KEY": env["BETTER_AUTH_SECRET"]}  # the server's secret
    token = mint_token(FUZZ_USER, ttl=3600)
    config = schemathesis_config(tmp_path / "schemathesis.toml")
    seed = [] if os.environ.get("HYPOTHESIS_PROFILE") == "explore" else ["--seed", "1"]
    with production_server(env, tmp_path / "server.log") as url:
        schema = served_schema(url, tmp_path / "schema.json")
        command = [
            str(BIN / "schemathesis"), "--config-file", str(config), "run", str(schema), "--url", url,
            "--phases", PHASES, "--checks", CHECKS, "--max-examples", "30", "--generation-database", "none",
            "--no-color", "--request-timeout", "30", *seed,
        ]  # fmt: skip
        done = subprocess.run(  # noqa: S603 - our command line
            command, cwd=tmp_path, env={**os.environ, "FUZZ_TOKEN": token}, capture_output=True, text=True,
            timeout=900, check=False,
        )  # fmt: skip
    log = (tmp_path / "server.log").read_text().splitlines()
    served = [json.loads(line) for line in log if line.startswith("{") and '"logger": "todo.requests"' in line]
    statuses = [request["status"] for request in served]
    reached = {
        (request["method"], (request["route"] or "").removesuffix("/?$"), request["status"]) for request in served
    }
    figures = f"{len(statuses)} requests, {statuses.count(429)} answered 429\n{summary(done.stdout)}"
    print(f"\nschemathesis over HTTP, {run}: {figures}")  # noqa: T201 - the figures, shown with -s

    assert done.returncode == 0, done.stdout[-20000:] + done.stderr[-3000:]
    assert re.search(r"Selected: (\d+)/\1\s+Tested: \1\b", done.stdout), summary(done.stdout)
    assert not [status for status in statuses if status >= 500]
    if run == "throttled":
        assert statuses.count(429) > 0, "the throttle never answered: the run did not test it"
    else:
        assert statuses.count(429) == 0
        # The logic behind the operations ran, not only their refusals: tasks were completed and deleted
        # (a restore along the delete's link depends on which links the stateful phase draws).
        task = "api/<str:user_id>/tasks/(?P<pk>[0-9]+)"
        assert {("PATCH", f"{task}/complete", 200), ("DELETE", task, 204)} <= reached
