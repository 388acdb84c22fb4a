"""Limits, observability and production posture (the first part of the hardening issue)."""

import io
import json
import logging
import re
import threading
import time

import pytest
from django.core.cache import cache
from django.http import JsonResponse

from tests.conftest import USER_A
from tests.test_project import run_django
from todo_project import throttling
from todo_project.logs import JsonFormatter
from todo_project.middleware import RequestMiddleware
from todo_project.throttling import redis_client

pytestmark = pytest.mark.django_db


# --- X-Request-ID and one JSON line per request ---


def test_request_id_is_generated_and_echoed(api_a):
    response = api_a.get("/api/user-a/tasks")

    assert len(response["X-Request-ID"]) == 32


@pytest.mark.parametrize(
    ("offered", "kept"),
    [("abc-123_DEF.4:5", True), ("", False), ("x" * 129, False), ("bad id with spaces", False), ("<script>", False)],
)
def test_offered_request_id_is_kept_only_when_well_formed(api_a, offered, kept):
    response = api_a.get("/api/user-a/tasks", HTTP_X_REQUEST_ID=offered)

    assert (response["X-Request-ID"] == offered) is kept


def test_each_request_logs_one_structured_line_without_secrets(api_a, caplog, make_token):
    token = make_token()
    caplog.set_level(logging.INFO, logger="todo.requests")

    api_a.post("/api/user-a/tasks", {"title": "Secret plan"}, format="json", HTTP_X_REQUEST_ID="req-1")

    [record] = [r for r in caplog.records if r.name == "todo.requests"]
    assert (record.request_id, record.user_id, record.method, record.status) == ("req-1", USER_A, "POST", 201)
    assert record.route == "api/<str:user_id>/tasks/?$"
    assert record.duration_ms >= 0
    line = JsonFormatter().format(record)
    assert json.loads(line)["request_id"] == "req-1"
    assert token not in line
    assert "Secret plan" not in line


# --- Limits ---


def test_body_over_the_limit_is_413_before_anything_reads_it(api_a, settings):
    settings.MAX_REQUEST_BODY_BYTES = 100

    response = api_a.post("/api/user-a/tasks", {"title": "x" * 200}, format="json")

    assert response.status_code == 413
    assert "limit 100 bytes" in response.json()["detail"]


def test_api_is_throttled_per_user_with_retry_after(api_a, client_for, settings):
    settings.API_RATE = "5/min"

    statuses = [api_a.get("/api/user-a/tasks").status_code for _ in range(6)]
    other = client_for("user-b").get("/api/user-b/tasks")

    assert statuses == [200] * 5 + [429]
    throttled = api_a.get("/api/user-a/tasks")
    assert int(throttled["Retry-After"]) > 0
    assert "detail" in throttled.json()
    assert other.status_code == 200
    # One counter per user and window, in Redis when configured: every worker adds to the same one.
    key = f"throttle_api_{USER_A}:{int(time.time() // 60)}"
    stored = redis_client(settings.REDIS_URL).get(key) if settings.REDIS_URL else cache.get(key)
    assert int(stored) in (7, 8)


@pytest.mark.parametrize("path", ["/health", "/health/ready"])
def test_health_checks_are_never_throttled(client, settings, path):
    settings.API_RATE = "1/min"

    assert [client.get(path).status_code for _ in range(3)] == [200, 200, 200]


# --- Readiness ---


def test_ready_without_jwks_checks_the_database(client):
    response = client.get("/health/ready")

    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"database": "ok", "jwks": "not configured"},
                               "events": {"pending": 0, "oldest_seconds": 0.0}}  # fmt: skip


def test_ready_with_jwks_fetches_its_keys(client, better_auth):
    response = client.get("/health/ready")

    assert response.json()["checks"]["jwks"] == "ok"
    assert better_auth.fetches == 1


def test_unready_when_the_jwks_is_down(client, better_auth):
    better_auth.status = 503

    response = client.get("/health/ready")

    assert response.status_code == 503
    assert response.json() == {"status": "unready", "checks": {"database": "ok", "jwks": "unreachable"},
                               "events": {"pending": 0, "oldest_seconds": 0.0}}  # fmt: skip


# --- CORS, both ways ---


def test_cors_allows_the_configured_origin_with_credentials(client, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]

    response = client.options(
        "/api/user-a/tasks",
        HTTP_ORIGIN="https://app.example.com",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type",
    )

    assert response["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert response["Access-Control-Allow-Credentials"] == "true"
    assert "authorization" in response["Access-Control-Allow-Headers"]


def test_cors_lets_a_browser_use_the_api_headers_and_read_etags(client, settings, api_a, task_factory):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]
    asked = "authorization, content-type, idempotency-key, if-match, if-none-match, x-timezone, x-request-id"

    preflight = client.options(
        "/api/user-a/tasks/1", HTTP_ORIGIN="https://app.example.com", HTTP_ACCESS_CONTROL_REQUEST_METHOD="PATCH",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS=asked,
    )  # fmt: skip
    task = task_factory()
    answer = api_a.get(f"/api/user-a/tasks/{task.id}", HTTP_ORIGIN="https://app.example.com")

    allowed = {header.strip() for header in preflight["Access-Control-Allow-Headers"].split(",")}
    assert {header.strip() for header in asked.split(",")} <= allowed
    exposed = {header.strip() for header in answer["Access-Control-Expose-Headers"].split(",")}
    assert {"etag", "retry-after", "x-request-id"} <= exposed


def test_cors_refuses_other_origins(client, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]

    response = client.options(
        "/api/user-a/tasks", HTTP_ORIGIN="https://evil.example.com", HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET"
    )

    assert "Access-Control-Allow-Origin" not in response


# --- Production posture ---


def test_security_headers(client):
    response = client.get("/health")

    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def test_check_deploy_is_clean_with_production_settings():
    result = run_django(
        "from django.core.management import call_command\n"
        "call_command('check', deploy=True, fail_level='WARNING')\n"
        "print('clean')",
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY="k3y-" + "Zq8!x" * 12,
        BETTER_AUTH_SECRET="s" * 40,
        DJANGO_HTTPS="true",
        DJANGO_ALLOWED_HOSTS="api.example.com",
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "clean"
    assert "no issues" in result.stdout


def test_admin_can_move():
    result = run_django(
        "from django.test import Client\n"
        "c = Client(SERVER_NAME='localhost')\n"
        "print(c.get('/backoffice/login/').status_code, c.get('/admin/login/').status_code)",
        ADMIN_URL="backoffice/",
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "200 404"


CSP_SCRIPT_SRC = re.compile(r"script-src 'self'(;|$)")


@pytest.mark.parametrize("path", ["/api/docs/", "/admin/login/"], ids=["docs", "admin"])
def test_docs_and_admin_load_only_their_own_scripts_under_a_csp(client, path):
    response = client.get(path)
    page = response.content.decode()

    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    assert CSP_SCRIPT_SRC.search(policy), policy
    assert "frame-ancestors 'none'" in policy
    assert "<script>" not in page.replace(" ", "")  # no inline script: 'self' would block it
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sources
    assert all(not source.startswith(("http:", "https:", "//")) for source in sources), sources


def test_the_docs_start_script_and_swagger_ui_are_served_here(client, settings):
    settings.WHITENOISE_USE_FINDERS = True  # as after collectstatic (make serve), without running it
    page = client.get("/api/docs/").content.decode()
    scripts = re.findall(r'<script src="([^"]+)"', page)

    for script in scripts:
        response = client.get(script)
        assert response.status_code == 200, script
        assert b"".join(response.streaming_content if response.streaming else [response.content])


def test_concurrent_first_calls_share_one_redis_client():
    """A worker's first requests arrive together: they must not each build (and then close) a client."""
    url = "redis://127.0.0.1:6379/15"
    throttling._redis_clients.pop(url, None)
    barrier, clients = threading.Barrier(16), []

    def first_call() -> None:
        barrier.wait()
        clients.append(redis_client(url))

    threads = [threading.Thread(target=first_call) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len({id(client) for client in clients}) == 1


@pytest.mark.parametrize(("size", "status"), [(100, 413), (99, 200)], ids=["over-the-limit", "within"])
def test_a_chunked_body_is_held_to_the_limit_too(rf, settings, size, status):
    """Transfer-Encoding: chunked carries no Content-Length; the limit still applies."""
    settings.MAX_REQUEST_BODY_BYTES = 99
    request = rf.post("/api/user-a/tasks", content_type="application/json")
    del request.META["CONTENT_LENGTH"]
    request.META.update(
        {"HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input": io.BytesIO(b"x" * size), "wsgi.input_terminated": True}
    )
    request._stream = request.META["wsgi.input"]  # as gunicorn's terminated input reaches Django
    seen = []

    def view(request):
        seen.append(request.body)
        return JsonResponse({})

    response = RequestMiddleware(view)(request)

    assert response.status_code == status
    assert seen == ([] if status == 413 else [b"x" * size])


# --- Small bad input: a 400 with a message (or an answer), never a 500 ---

DEEP = "[" * 10_000 + "]" * 10_000
BAD_QUERIES = [
    ("/api/user-a/tasks?tag=%00", "tag"),
    ("/api/user-a/tasks?tag=home,a%00b", "tag"),
    ("/api/user-a/tasks?offset=99999999999999999999", "offset"),
    ("/api/user-a/tasks?limit=5&offset=1000000001", "offset"),
    ("/api/user-a/tasks?offset=%C2%B2", "offset"),  # "²" is a digit to str.isdigit(), not to int()
    ("/api/user-a/tasks?limit=%D9%A3", "limit"),  # an Arabic-Indic 3
    ("/api/user-a/tasks/export?format=csv&tag=%00", "tag"),
    ("/api/user-a/tasks/export?format=json&tag=%00", "tag"),
]


@pytest.mark.parametrize(("url", "field"), BAD_QUERIES, ids=[url.split("/")[-1] for url, _ in BAD_QUERIES])
def test_a_bad_query_value_is_a_400_naming_it(api_a, url, field):
    api_a.post("/api/user-a/tasks", {"title": "t", "tags": ["home"]}, format="json")

    response = api_a.get(url)

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert field in response.json()


@pytest.mark.parametrize("method", ["patch", "delete"])
def test_a_tag_name_with_a_nul_is_a_400(api_a, method):
    response = getattr(api_a, method)("/api/user-a/tags/a%00b", {"name": "x"}, format="json")

    assert response.status_code == 400
    assert "name" in response.json()


@pytest.mark.parametrize(
    "search", ["-" * 40, "- " * 40 + "milk", "-" * 41 + "milk", "milk " + "--" * 90, '"-' * 60], ids=repr
)
@pytest.mark.parametrize("path", ["tasks", "tasks/export"])
def test_a_search_of_many_negations_answers(api_a, task_factory, search, path):
    task_factory(title="Buy milk")

    response = api_a.get(f"/api/user-a/{path}", {"search": search})

    assert response.status_code == 200
    assert response.getvalue() if path.endswith("export") else response.json() is not None


JSON_ROUTES = [
    ("post", "tasks"), ("put", "tasks/{id}"), ("patch", "tasks/{id}"), ("post", "tasks/bulk"),
    ("post", "tasks/bulk-update"), ("patch", "tags/home"), ("post", "chat"), ("post", "chat/stream"),
]  # fmt: skip


@pytest.mark.parametrize(("method", "path"), JSON_ROUTES)
def test_a_json_body_nested_too_deeply_is_a_400(api_a, method, path):
    task = api_a.post("/api/user-a/tasks", {"title": "t", "tags": ["home"]}, format="json").json()

    url = f"/api/user-a/{path.format(id=task['id'])}"
    response = getattr(api_a, method)(url, DEEP, content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {"detail": "Malformed JSON: nested too deeply."}


def test_an_export_that_fails_fails_before_its_response_starts(api_a, task_factory, monkeypatch):
    task_factory()
    monkeypatch.setattr("tasks.serializers.TaskSerializer.to_representation", lambda *args: 1 / 0)

    response = api_a.get("/api/user-a/tasks/export?format=csv")

    assert response.status_code == 500
    assert not response.streaming
    assert response.json() == {"detail": "Internal server error."}
