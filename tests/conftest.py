"""Fixtures shared by the whole suite: token factories, authenticated clients, tasks, a JWKS server."""

import json
import logging
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import factory
import hypothesis
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from django.core.cache import cache
from rest_framework.test import APIClient

from tasks.models import Task
from todo_project.logs import JsonFormatter

# Hypothesis: the same examples on every run by default, so CI is reproducible; explore new ones
# with HYPOTHESIS_PROFILE=explore (random and more examples) while developing.
hypothesis.settings.register_profile("ci", derandomize=True)
hypothesis.settings.register_profile("explore", max_examples=200)
hypothesis.settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

TEST_SECRET = "test-secret-that-is-long-enough-0123456789abcdef"
USER_A = "user-a"
USER_B = "user-b"


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix: None, tmp_path_factory: Any) -> None:
    """On SQLite the test database is a file, as a deployed one is, not Django's default shared-cache
    in-memory database: there a reader on one thread locks the table against a writer on another
    ("database table is locked"), which WAL and the busy timeout never do. So the tests of the async
    path, whose queries run on more than one thread, run on SQLite too."""
    from django.conf import settings

    for db in settings.DATABASES.values():
        if db["ENGINE"] == "django.db.backends.sqlite3" and not db.get("TEST", {}).get("NAME"):
            db.setdefault("TEST", {})["NAME"] = str(tmp_path_factory.mktemp("database") / "test.sqlite3")


@pytest.fixture(autouse=True)
def _test_settings(settings: Any) -> None:
    """Whatever the developer's environment says, tests start from the same known settings."""
    settings.SIMPLE_JWT = {**settings.SIMPLE_JWT, "SIGNING_KEY": TEST_SECRET, "ISSUER": None, "AUDIENCE": None}
    settings.BETTER_AUTH_URL = ""
    settings.BETTER_AUTH_JWKS_URL = ""
    settings.OPENAI_API_KEY = ""  # the offline model, unless a test points at the fake provider
    settings.OPENAI_BASE_URL = ""
    settings.CHAT_API = "chat_completions"
    settings.CHAT_RATE = "10000/min"
    settings.CHAT_MAX_RETRIES = 0
    # Throttle counters: in Redis when TEST_REDIS_URL names one (make test: a database of its own,
    # flushed before each test), else in memory. A developer's REDIS_URL is never touched.
    redis_url = os.environ.get("TEST_REDIS_URL")
    settings.REDIS_URL = redis_url or ""
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url}
        if redis_url
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    }
    cache.clear()


def make_claims(user_id: str | None = USER_A, *, ttl: int = 300, **claims: Any) -> dict[str, Any]:
    now = int(time.time())
    base: dict[str, Any] = {"iat": now, "exp": now + ttl}
    if user_id is not None:
        base["sub"] = user_id
    base.update(claims)
    return {name: value for name, value in base.items() if value is not None}


@pytest.fixture
def make_token() -> Callable[..., str]:
    """make_token(user_id="user-a", key=TEST_SECRET, alg="HS256", headers=None, **claims).

    A claim passed as None is left out (make_token(exp=None) has no exp)."""

    def _make(
        user_id: str | None = USER_A,
        *,
        key: Any = TEST_SECRET,
        alg: str = "HS256",
        headers: dict[str, Any] | None = None,
        ttl: int = 300,
        **claims: Any,
    ) -> str:
        return jwt.encode(make_claims(user_id, ttl=ttl, **claims), key, algorithm=alg, headers=headers)

    return _make


@pytest.fixture
def client_for(make_token: Callable[..., str]) -> Callable[[str], APIClient]:
    """An API client that sends a valid HS256 token for `user_id`."""

    def _client(user_id: str) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_token(user_id)}")
        return client

    return _client


@pytest.fixture
def api_a(client_for: Callable[[str], APIClient]) -> APIClient:
    return client_for(USER_A)


# What a change's event costs in statements (events.outbox: one INSERT), and the statements a capture
# counts: a transaction's BEGIN, COMMIT and savepoints are not statements of the write.
TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE SAVEPOINT")


def event_statements(*, in_statement: bool = False) -> int:
    """A write of one task that its subtree does not follow (`in_statement`) inserts its event in its own
    statement on PostgreSQL (tasks.speedups.update_recording): no statement more."""
    from django.db import connection

    return 0 if in_statement and connection.vendor == "postgresql" else 1


def statements(captured: Any) -> list[str]:
    """The SQL of a CaptureQueriesContext, without transaction control."""
    return [query["sql"] for query in captured.captured_queries if not query["sql"].startswith(TRANSACTION_CONTROL)]


def concurrently(*calls: Callable[[], object]) -> list[BaseException]:
    """Run each call in a thread of its own (each with its own database connection, closed after) and
    wait for all; the exceptions they raised."""
    from django.db import connection

    errors: list[BaseException] = []

    def run(call: Callable[[], object]) -> None:
        try:
            call()
        except Exception as exc:  # reported to the caller
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


class TaskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Task

    user_id = USER_A
    title = factory.Sequence(lambda n: f"Task {n}")
    description = factory.Faker("sentence")
    completed = False


@pytest.fixture
def task_factory(db: None) -> type[TaskFactory]:
    return TaskFactory


# --- Better Auth's jwt plugin: keys generated here, served from a JWKS over real HTTP ---


@dataclass
class SigningKey:
    kid: str
    alg: str
    private_key: Any
    public_jwk: dict[str, Any]


def _signing_key(kid: str, alg: str, private_key: Any) -> SigningKey:
    algorithm = jwt.get_algorithm_by_name(alg)
    public_jwk = json.loads(algorithm.to_jwk(private_key.public_key()))
    public_jwk.update(kid=kid, alg=alg, use="sig")
    return SigningKey(kid=kid, alg=alg, private_key=private_key, public_jwk=public_jwk)


@pytest.fixture(scope="session")
def signing_keys() -> dict[str, SigningKey]:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return {
        "EdDSA": _signing_key("ed-1", "EdDSA", ed25519.Ed25519PrivateKey.generate()),
        "ES256": _signing_key("es-1", "ES256", ec.generate_private_key(ec.SECP256R1())),
        "ES512": _signing_key("es512-1", "ES512", ec.generate_private_key(ec.SECP521R1())),
        "RS256": _signing_key("rs-1", "RS256", rsa_key),
        "PS256": _signing_key("ps-1", "PS256", rsa_key),
    }


@contextmanager
def serve_on_loopback(handler: type[BaseHTTPRequestHandler]) -> Iterator[int]:
    """Serve `handler` on 127.0.0.1 in a thread; yields the port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class JwksServer:
    url: str
    keys: list[dict[str, Any]]
    fetches: int = 0
    status: int = 200
    delay: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)


@pytest.fixture
def jwks_server(signing_keys: dict[str, SigningKey]) -> Iterator[JwksServer]:
    """A loopback HTTP server publishing the public keys; counts fetches; can fail on demand."""
    state = JwksServer(url="", keys=[key.public_jwk for key in signing_keys.values()])

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            with state._lock:
                state.fetches += 1
            time.sleep(state.delay)
            body = json.dumps({"keys": state.keys}).encode()
            self.send_response(state.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    with serve_on_loopback(Handler) as port:
        state.url = f"http://127.0.0.1:{port}/api/auth/jwks"
        yield state


BETTER_AUTH_URL = "http://localhost:3000"


@pytest.fixture
def better_auth(settings: Any, jwks_server: JwksServer) -> JwksServer:
    """Settings of a deployment whose Better Auth runs the jwt plugin (iss = aud = its URL)."""
    settings.BETTER_AUTH_URL = BETTER_AUTH_URL
    settings.SIMPLE_JWT = {**settings.SIMPLE_JWT, "ISSUER": BETTER_AUTH_URL, "AUDIENCE": BETTER_AUTH_URL}
    settings.BETTER_AUTH_JWKS_URL = jwks_server.url
    return jwks_server


@pytest.fixture
def plugin_token(signing_keys: dict[str, SigningKey], make_token: Callable[..., str]) -> Callable[..., str]:
    """A token as Better Auth's jwt plugin signs it: asymmetric key, kid header, iss and aud."""

    def _make(alg: str = "EdDSA", user_id: str | None = USER_A, *, kid: str | None = None, **claims: Any) -> str:
        key = signing_keys[alg]
        claims = {"iss": BETTER_AUTH_URL, "aud": BETTER_AUTH_URL, **claims}
        return make_token(user_id, key=key.private_key, alg=alg, headers={"kid": kid or key.kid}, **claims)

    return _make


# Nothing secret in the logs -------------------------------------------------------------------
# Every log record of the whole run is formatted as production formats it and kept; when the run
# ends, the records are scanned for secrets, tokens and message contents, and any find fails it.
LEAKS = {
    "the shared secret": re.compile(re.escape(TEST_SECRET)),
    "a JWT": re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\."),
    "a bearer credential": re.compile(r"Bearer\s+\S"),
    "an OpenAI key": re.compile(r"sk-[A-Za-z0-9-]{8,}"),
    "chat or task content": re.compile(r"groceries", re.IGNORECASE),  # said in chats, titles and searches
}


class _LogRecorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


LOG_RECORDER = _LogRecorder()


@pytest.fixture(autouse=True, scope="session")
def _record_every_log_line() -> Iterator[None]:
    root, requests = logging.getLogger(), logging.getLogger("todo.requests")
    levels = root.level, requests.level
    root.addHandler(LOG_RECORDER)
    requests.setLevel(logging.INFO)  # the per-request line, as in production
    yield
    root.removeHandler(LOG_RECORDER)
    root.setLevel(levels[0])
    requests.setLevel(levels[1])


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    leaks = [(what, line) for line in LOG_RECORDER.lines for what, pattern in LEAKS.items() if pattern.search(line)]
    if leaks:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        sys.stderr.write(f"\n{len(leaks)} log line(s) leak sensitive data:\n")
        for what, line in leaks[:20]:
            sys.stderr.write(f"  {what}: {line[:300]}\n")
    elif LOG_RECORDER.lines:
        sys.stderr.write(f"\nLog scan: {len(LOG_RECORDER.lines)} log lines, no secret, token or content in them.\n")
