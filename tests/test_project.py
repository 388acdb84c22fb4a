"""Project-level behaviour: health, the OpenAPI schema and docs, settings from the environment."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from drf_spectacular.validation import validate_schema

ROOT = Path(__file__).resolve().parent.parent


def run_django(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run `code` in a fresh Python with Django set up from these environment variables."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "BETTER_AUTH_", "DATABASE_"))}
    environ.update(DJANGO_SETTINGS_MODULE="todo_project.settings", **env)
    script = f"import django\ndjango.setup()\n{code}"
    return subprocess.run(  # noqa: S603
        [sys.executable, "-c", script], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.parametrize(
    "database_url",
    ["sqlite:////nonexistent-directory/db.sqlite3", "postgres://postgres@127.0.0.1:1/nothing"],
    ids=["sqlite-unopenable", "postgres-refused"],
)
def test_health_is_503_json_when_the_database_is_unreachable(database_url):
    result = run_django(
        "from django.test import Client\n"
        "response = Client(SERVER_NAME='localhost').get('/health')\n"
        "print(response.status_code, response.content.decode())",
        DATABASE_URL=database_url,
        DB_POOL_TIMEOUT="1",
    )

    assert result.returncode == 0, result.stderr
    status, body = result.stdout.strip().split(" ", 1)
    assert status == "503"
    assert '"status":"unhealthy"' in body.replace(" ", "")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "DJANGO_SECRET_KEY is not set"),
        ({"DJANGO_SECRET_KEY": "short"}, "DJANGO_SECRET_KEY is shorter than 32 bytes"),
        ({"DJANGO_SECRET_KEY": "k" * 50}, "BETTER_AUTH_SECRET is not set"),
        ({"DJANGO_SECRET_KEY": "k" * 50, "BETTER_AUTH_SECRET": "s" * 31}, "BETTER_AUTH_SECRET is shorter than 32"),
    ],
    ids=["no-secret-key", "weak-secret-key", "no-better-auth-secret", "weak-better-auth-secret"],
)
def test_production_refuses_to_start_with_missing_or_weak_secrets(env, message):
    result = run_django("", DJANGO_DEBUG="false", **env)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


def test_production_starts_with_strong_secrets_and_reads_the_environment():
    result = run_django(
        "from django.conf import settings as s\n"
        "db = s.DATABASES['default']\n"
        "print(s.DEBUG, db['ENGINE'], db['OPTIONS']['pool']['min_size'], db['OPTIONS']['pool']['max_size'])\n"
        "print(s.ALLOWED_HOSTS, s.CORS_ALLOWED_ORIGINS)\n"
        "print(s.BETTER_AUTH_JWKS_URL, s.SIMPLE_JWT['ISSUER'], s.SIMPLE_JWT['AUDIENCE'])",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="k" * 50,
        BETTER_AUTH_SECRET="s" * 32,
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/postgres",
        DB_POOL_MIN_SIZE="2",
        DB_POOL_MAX_SIZE="4",
        DJANGO_ALLOWED_HOSTS="api.example.com",
        CORS_ALLOWED_ORIGINS="https://app.example.com,https://admin.example.com",
        BETTER_AUTH_URL="https://app.example.com/",
    )

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "False django.db.backends.postgresql 2 4"
    assert lines[1] == "['api.example.com'] ['https://app.example.com', 'https://admin.example.com']"
    assert lines[2] == ("https://app.example.com/api/auth/jwks https://app.example.com https://app.example.com")


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "HS256 True None None 30"),
        ({"BETTER_AUTH_URL": "https://app.example.com/", "JWT_LEEWAY_SECONDS": "5"},
         "HS256 True https://app.example.com https://app.example.com 5"),
        ({"BETTER_AUTH_URL": "https://app.example.com", "BETTER_AUTH_ISSUER": "https://id.example.com",
          "BETTER_AUTH_AUDIENCE": "todo-api"}, "HS256 True https://id.example.com todo-api 30"),
    ],
    ids=["shared-secret-only", "better-auth-url", "issuer-and-audience-overridden"],
)  # fmt: skip
def test_simplejwt_reads_its_settings_from_the_better_auth_environment(env, expected):
    result = run_django(
        "from rest_framework_simplejwt.settings import api_settings as s\n"
        "print(s.ALGORITHM, s.SIGNING_KEY == 's' * 32, s.ISSUER, s.AUDIENCE, s.LEEWAY)\n"
        "print(s.USER_ID_CLAIM, s.TOKEN_TYPE_CLAIM, s.JTI_CLAIM, s.JWK_URL, s.TOKEN_USER_CLASS.__qualname__)",
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY="k" * 50,
        BETTER_AUTH_SECRET="s" * 32,
        **env,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [expected, "sub None None None BetterAuthUser"]


@pytest.mark.parametrize(("value", "expected"), [(None, "True 5"), ("false", "None None")])
def test_prepared_statements_are_on_unless_turned_off(value, expected):
    result = run_django(
        "from django.conf import settings as s\n"
        "options = s.DATABASES['default']['OPTIONS']\n"
        "print(options.get('server_side_binding'), options.get('prepare_threshold'))",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/postgres",
        **({"DB_PREPARED_STATEMENTS": value} if value else {}),
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


def test_development_needs_nothing_set():
    result = run_django(
        "from django.conf import settings as s\n"
        "print(s.DEBUG, s.DATABASES['default']['ENGINE'], s.CORS_ALLOWED_ORIGINS)"
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True django.db.backends.sqlite3 ['http://localhost:3000']"


def test_schema_is_valid_openapi_and_documents_auth_and_errors(client):
    response = client.get("/api/schema/")

    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    validate_schema(schema)
    assert schema["components"]["securitySchemes"]["BetterAuthJWT"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
    operations = schema["paths"]["/api/{user_id}/tasks/{id}"]
    for method in ["get", "put", "patch", "delete"]:
        assert {"401", "403", "404"} <= set(operations[method]["responses"]), method
        assert operations[method]["security"] == [{"BetterAuthJWT": []}]
    create = schema["paths"]["/api/{user_id}/tasks"]["post"]
    assert {"201", "400", "401", "403"} <= set(create["responses"])
    assert schema["paths"]["/health"]["get"]["security"] == [{}]
    list_params = {p["name"] for p in schema["paths"]["/api/{user_id}/tasks"]["get"]["parameters"]}
    assert "completed" in list_params
    chat = schema["paths"]["/api/{user_id}/chat"]["post"]
    assert {"200", "400", "401", "403", "404", "429", "502", "503", "504"} <= set(chat["responses"])
    assert "text/event-stream" in schema["paths"]["/api/{user_id}/chat/stream"]["post"]["responses"]["200"]["content"]
    assert {"get", "delete"} <= set(schema["paths"]["/api/{user_id}/conversations/{id}"])


def test_docs_page_loads(client):
    response = client.get("/api/docs/")

    assert response.status_code == 200
    assert b"swagger-ui" in response.content.lower()


@pytest.mark.django_db
def test_schema_is_generated_once_per_process_and_format(client, monkeypatch):
    from drf_spectacular.generators import SchemaGenerator

    from todo_project.views import SchemaView

    monkeypatch.setattr(SchemaView, "_rendered", {})  # as in a new process
    generated = []
    original = SchemaGenerator.get_schema
    monkeypatch.setattr(SchemaGenerator, "get_schema", lambda self, **kw: generated.append(1) or original(self, **kw))

    yaml_answers = [client.get("/api/schema/").content for _ in range(3)]
    json_answers = [client.get("/api/schema/", HTTP_ACCEPT="application/json").content for _ in range(2)]

    assert len(generated) == 2  # once for YAML, once for JSON
    assert len(set(yaml_answers)) == len(set(json_answers)) == 1
    assert yaml.safe_load(yaml_answers[0])["paths"].keys() == json.loads(json_answers[0])["paths"].keys()


@pytest.mark.django_db
def test_schema_is_throttled_per_client_address_with_a_json_429(client, settings):
    settings.SCHEMA_RATE = "2/min"

    answers = [client.get("/api/schema/", REMOTE_ADDR="203.0.113.7").status_code for _ in range(3)]
    refused = client.get("/api/schema/", REMOTE_ADDR="203.0.113.7")

    assert answers == [200, 200, 429]
    assert refused["Content-Type"] == "application/json"
    assert "detail" in refused.json()
    assert int(refused["Retry-After"]) > 0
    assert client.get("/api/schema/", REMOTE_ADDR="203.0.113.8").status_code == 200  # another address


@pytest.mark.django_db
def test_a_forged_forwarded_for_header_does_not_reset_the_schemas_rate(client, settings):
    settings.SCHEMA_RATE = "2/min"

    statuses = [
        client.get("/api/schema/", REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR=f"10.0.0.{n}").status_code
        for n in range(3)
    ]

    assert statuses == [200, 200, 429]
