"""Every error is JSON, on every path, and says what is wrong without telling how the server is built."""

import json
import logging

import pytest
from django.test import Client, RequestFactory
from rest_framework.test import APIClient

from todo_project import views

pytestmark = pytest.mark.django_db

PRODUCTION_AND_DEBUG = pytest.mark.parametrize("debug", [False, True], ids=["production", "debug"])


def assert_json_error(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = json.loads(response.content)
    assert isinstance(body.get("detail"), str)
    return body


# --- Paths outside the API ---


@PRODUCTION_AND_DEBUG
@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/nope"), ("get", "/health/nope"), ("get", "/static/nope.css"), ("post", "/nope"), ("delete", "/api")],
    ids=lambda value: value,
)
def test_unknown_paths_anywhere_are_json_404(client, settings, debug, method, path):
    settings.DEBUG = debug

    body = assert_json_error(getattr(client, method)(path), 404)

    assert body == {"detail": "Not found."}


@PRODUCTION_AND_DEBUG
def test_the_root_describes_the_service_and_links_its_docs_and_health(client, settings, debug):
    settings.DEBUG = debug

    response = client.get("/")

    assert response.status_code == 200
    assert response.json() == {
        "service": "todo-backend",
        "docs": "/api/docs/",
        "schema": "/api/schema/",
        "health": "/health",
    }
    assert all(client.get(link).status_code == 200 for link in response.json().values() if link.startswith("/"))
    assert_json_error(client.post("/"), 405)


def test_the_admins_own_pages_stay_the_admins(client, admin_client):
    assert client.get("/admin")["Location"] == "/admin/"  # APPEND_SLASH still works for the admin
    assert client.get("/admin/")["Location"] == "/admin/login/?next=/admin/"
    missing = admin_client.get("/admin/tasks/nothing-here/")
    assert missing.status_code == 404
    assert missing["Content-Type"].startswith("text/html")


@pytest.mark.parametrize(
    ("handler", "status"),
    [
        (lambda request: views.bad_request(request, Exception("why")), 400),
        (lambda request: views.permission_denied(request, Exception("why")), 403),
        (lambda request: views.not_found(request, Exception("why")), 404),
        (views.server_error, 500),
    ],
    ids=["400", "403", "404", "500"],
)
def test_error_handlers_answer_json_outside_the_admin_and_html_in_it(handler, status):
    outside, admin = RequestFactory().get("/health"), RequestFactory().get("/admin/tasks/")

    body = assert_json_error(handler(outside), status)

    assert "why" not in body["detail"]
    assert handler(admin)["Content-Type"].startswith("text/html")


# --- Refusals before any view: a Host not allowed, a malformed one ---


@pytest.mark.parametrize("host", ["evil.example", "bad host!"])
@pytest.mark.parametrize("path", ["/api/user-a/tasks", "/health", "/"])
def test_a_host_that_is_not_allowed_is_a_json_400_that_names_no_setting(api_a, settings, host, path):
    settings.DEBUG = False

    body = assert_json_error(api_a.get(path, HTTP_HOST=host), 400)

    assert "ALLOWED_HOSTS" not in body["detail"]
    assert host not in body["detail"]


# --- 401 and 503 say what the client can act on, not how the server is configured ---


def test_an_asymmetric_token_without_a_configured_jwks_is_a_generic_401(plugin_token, caplog):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plugin_token('EdDSA')}")

    with caplog.at_level(logging.WARNING, logger="todo_project.auth"):
        response = client.get("/api/user-a/tasks")

    body = assert_json_error(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert body == {"detail": "Token is invalid."}
    assert "no Better Auth JWKS is configured" in caplog.text  # the operator still learns why


def test_an_unreachable_jwks_is_a_503_that_names_no_infrastructure(better_auth, plugin_token, caplog):
    better_auth.status = 500
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plugin_token('EdDSA')}")

    with caplog.at_level(logging.WARNING, logger="todo_project.auth"):
        response = client.get("/api/user-a/tasks")

    body = assert_json_error(response, 503)
    assert body == {"detail": "Cannot verify the token right now. Try again shortly."}
    assert "JWKS is unreachable" in caplog.text


# --- Parse errors: what is wrong with the body, never Python's own words ---


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"{bad", "Malformed JSON: Expecting property name enclosed in double quotes (line 1, column 2)."),
        (b'{"title":\n "a",}', "Malformed JSON: Expecting property name enclosed in double quotes (line 2, column 6)."),
        (b'{"title": "\xff"}', "The body is not valid utf-8 text."),
        (b'{"title": "t", "position": NaN}', "Malformed JSON: NaN is not a JSON number."),
        (b'{"title": "t", "position": -Infinity}', "Malformed JSON: -Infinity is not a JSON number."),
        (b"[" * 100_000, "Malformed JSON: nested too deeply."),
    ],
    ids=["syntax", "trailing-comma", "not-utf-8", "nan", "infinity", "nested-too-deep"],
)
@pytest.mark.parametrize("path", ["/api/user-a/tasks", "/api/user-a/chat"])
def test_malformed_json_is_a_400_that_says_what_is_wrong(api_a, body, detail, path):
    response = api_a.generic("POST", path, body, content_type="application/json")

    assert assert_json_error(response, 400) == {"detail": detail}


def test_an_unexpected_error_outside_the_api_is_a_json_500(settings):
    """The 500 handler outside the API, through the whole stack (the root's view made to fail)."""
    settings.DEBUG = False
    client = Client(raise_request_exception=False)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(views, "SERVICE_NAME", object())  # not JSON-serialisable: the root's view fails
        response = client.get("/")

    assert_json_error(response, 500)
