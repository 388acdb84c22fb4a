"""A webhook receiver on loopback that records what it is sent and answers as the test scripts it, and
the settings that let a webhook reach it (WEBHOOK_ALLOW_PRIVATE_TARGETS) with a fast retry schedule."""

import ipaddress
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from events.sequencer import sequence_round
from tests.conftest import serve_on_loopback
from webhooks.worker import run_ready


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: str

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.body)


@dataclass
class Receiver:
    """`answers`: what the next requests get, in turn, as (status, delay seconds, extra headers); once spent,
    200 after no delay."""

    port: int = 0
    received: list[Received] = field(default_factory=list)
    answers: list[tuple[int, float, dict[str, str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Without scripted answers left: the status for a request (default 200).
    rule: Callable[[Received], int] = lambda got: 200

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def answer(self, *statuses: int, delay: float = 0.0, headers: dict[str, str] | None = None) -> None:
        self.answers.extend((code, delay, headers or {}) for code in statuses)

    def ids(self) -> list[str]:
        return [request.headers["webhook-id"] for request in self.received]


@pytest.fixture
def receiver(settings: Any) -> Iterator[Receiver]:
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    made = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0))).decode()
            with made.lock:
                got = Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                made.received.append(got)
                code, delay, headers = made.answers.pop(0) if made.answers else (made.rule(got), 0.0, {})
            time.sleep(delay)
            try:
                self.send_response(code)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("content-type", "text/plain")
                self.end_headers()
                self.wfile.write(f"answered {code}".encode())
            except (BrokenPipeError, ConnectionResetError):
                pass  # the worker gave up waiting

        def log_message(self, *args: Any) -> None:
            pass

    with serve_on_loopback(Handler) as port:
        made.port = port
        yield made


@pytest.fixture(autouse=True)
def _keep_the_tests_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    """django-tasks-db's worker loop closes connections between tasks (as Django does between requests);
    inside a test's transaction that would close the test's own, so here it keeps it."""
    from django_tasks_db.management.commands import db_worker

    monkeypatch.setattr(db_worker, "close_old_connections", lambda: None)


@pytest.fixture(autouse=True)
def _fast_retries(settings: Any) -> None:
    settings.WEBHOOK_TIMEOUT_SECONDS = 2
    settings.WEBHOOK_BACKOFF_SECONDS = 0.01
    settings.WEBHOOK_BACKOFF_CAP_SECONDS = 0.05
    settings.WEBHOOK_MAX_ATTEMPTS = 4


def work() -> None:
    """What the worker does in a round: number the events (making deliveries), then run the due tasks."""
    while sequence_round():
        pass
    run_ready()


def work_until(done: Callable[[], bool], *, timeout: float = 10) -> None:
    """Rounds of work (one at least) until `done()`: retries come due after their backoff."""
    deadline = time.monotonic() + timeout
    work()
    while not done():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)
        work()


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def resolving(mapping: dict[str, list[str]]) -> Callable[..., list[tuple[Any, ...]]]:
    """A stand-in for socket.getaddrinfo that resolves the names of `mapping` (addresses as strings) and
    nothing else: the tests' DNS."""

    real = socket.getaddrinfo

    def getaddrinfo(host: str, port: int, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
        if host not in mapping:
            try:
                ipaddress.ip_address(host)
            except ValueError:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known") from None
            return real(host, port, *args, **kwargs)
        return [
            (socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))
            for address in mapping[host]
        ]

    return getaddrinfo
