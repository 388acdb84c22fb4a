"""The contract's Tasks section, row by row, through the HTTP stack."""

import json
from datetime import datetime

import pytest

from tasks.models import Task
from tests.conftest import USER_A, USER_B

pytestmark = pytest.mark.django_db

TASK_KEYS = {"id", "user_id", "title", "description", "completed", "created_at", "updated_at"}


def _parse(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    assert parsed.tzinfo is not None, "timestamps must carry their offset"
    return parsed


def test_health_needs_no_token(client):
    response = client.get("/health")

    assert response.status_code == 200
    assert response.json() == {"status": "healthy", "service": "todo-backend"}


def test_list_is_a_plain_array_of_the_users_tasks_newest_first(api_a, task_factory):
    older = task_factory(title="older")
    newer = task_factory(title="newer")
    task_factory(user_id=USER_B, title="not mine")

    response = api_a.get("/api/user-a/tasks")

    assert response.status_code == 200
    body = response.json()
    assert isinstance(body, list)
    assert [task["id"] for task in body] == [newer.id, older.id]
    assert set(body[0]) >= TASK_KEYS


@pytest.mark.parametrize(("query", "expected"), [("true", ["done"]), ("false", ["open"]), ("", ["open", "done"])])
def test_list_filters_by_completed(api_a, task_factory, query, expected):
    task_factory(title="done", completed=True)
    task_factory(title="open", completed=False)

    response = api_a.get("/api/user-a/tasks", {"completed": query} if query else {})

    assert response.status_code == 200
    assert sorted(task["title"] for task in response.json()) == sorted(expected)


def test_list_rejects_a_completed_filter_that_is_not_a_boolean(api_a):
    response = api_a.get("/api/user-a/tasks", {"completed": "maybe"})

    assert response.status_code == 400
    assert "completed" in response.json()


@pytest.mark.parametrize(
    "path", ["/api/user-a/tasks", "/api/user-a/tags", "/api/user-a/conversations", "/api/user-a/tasks/export"]
)
def test_every_list_ignores_query_parameters_it_does_not_know(api_a, task_factory, path):
    """A real frontend sends `?url_user_id=<id>` on every list call."""
    task_factory(title="mine")

    response = api_a.get(path, {"url_user_id": USER_A})

    assert response.status_code == 200
    assert json.loads(response.getvalue()) == json.loads(api_a.get(path).getvalue())


def test_create_returns_201_and_the_task(api_a):
    response = api_a.post("/api/user-a/tasks", {"title": "Buy milk", "description": "2 litres"}, format="json")

    assert response.status_code == 201
    task = response.json()
    assert set(task) >= TASK_KEYS
    assert task["user_id"] == USER_A
    assert task["title"] == "Buy milk"
    assert task["description"] == "2 litres"
    assert task["completed"] is False
    assert isinstance(task["id"], int)
    assert _parse(task["created_at"]) == _parse(task["updated_at"])
    assert Task.objects.get(pk=task["id"]).user_id == USER_A


def test_create_without_description_gives_null(api_a):
    response = api_a.post("/api/user-a/tasks", {"title": "Only a title"}, format="json")

    assert response.status_code == 201
    assert response.json()["description"] is None


def test_create_ignores_read_only_fields_in_the_body(api_a):
    body = {"title": "t", "id": 999, "user_id": USER_B, "created_at": "2000-01-01T00:00:00Z", "updated_at": "x"}

    response = api_a.post("/api/user-a/tasks", body, format="json")

    assert response.status_code == 201
    task = response.json()
    assert task["id"] != 999
    assert task["user_id"] == USER_A
    assert not task["created_at"].startswith("2000")


def test_get_returns_the_task(api_a, task_factory):
    task = task_factory(title="mine")

    response = api_a.get(f"/api/user-a/tasks/{task.id}")

    assert response.status_code == 200
    assert response.json()["title"] == "mine"
    assert response.json()["id"] == task.id


@pytest.mark.parametrize(
    "changes",
    [{"title": "new title"}, {"description": "new description"}, {"description": None}, {"completed": True}],
    ids=["title", "description", "description-null", "completed"],
)
def test_put_is_partial_and_keeps_the_other_fields(api_a, task_factory, changes):
    task = task_factory(title="old title", description="old description", completed=False)
    before = {"title": "old title", "description": "old description", "completed": False}

    response = api_a.put(f"/api/user-a/tasks/{task.id}", changes, format="json")

    assert response.status_code == 200
    assert {key: response.json()[key] for key in before} == {**before, **changes}
    task.refresh_from_db()
    assert {key: getattr(task, key) for key in before} == {**before, **changes}


def test_put_changes_updated_at_but_never_id_user_or_created_at(api_a, task_factory):
    task = task_factory()
    original = api_a.get(f"/api/user-a/tasks/{task.id}").json()

    response = api_a.put(
        f"/api/user-a/tasks/{task.id}",
        {"title": "renamed", "id": 12345, "user_id": USER_B, "created_at": "2000-01-01T00:00:00Z"},
        format="json",
    )

    assert response.status_code == 200
    updated = response.json()
    assert updated["id"] == original["id"]
    assert updated["user_id"] == USER_A
    assert updated["created_at"] == original["created_at"]
    assert _parse(updated["updated_at"]) > _parse(original["updated_at"])


def test_patch_on_a_task_is_the_same_partial_update(api_a, task_factory):
    task = task_factory(title="a")

    response = api_a.patch(f"/api/user-a/tasks/{task.id}", {"completed": True}, format="json")

    assert response.status_code == 200
    assert response.json()["completed"] is True
    assert response.json()["title"] == "a"


def test_delete_returns_204_with_an_empty_body(api_a, task_factory):
    task = task_factory()

    response = api_a.delete(f"/api/user-a/tasks/{task.id}")

    assert response.status_code == 204
    assert response.content == b""
    assert Task.objects.get(pk=task.id).deleted_at is not None  # a tombstone, for sync and restore
    assert api_a.get(f"/api/user-a/tasks/{task.id}").status_code == 404
    assert api_a.get(f"/api/user-a/tasks/{task.id}").status_code == 404


def test_complete_toggles_and_changes_updated_at(api_a, task_factory):
    task = task_factory(completed=False)
    original = api_a.get(f"/api/user-a/tasks/{task.id}").json()

    first = api_a.patch(f"/api/user-a/tasks/{task.id}/complete")
    second = api_a.patch(f"/api/user-a/tasks/{task.id}/complete")

    assert first.status_code == second.status_code == 200
    assert first.json()["completed"] is True
    assert second.json()["completed"] is False
    assert _parse(first.json()["updated_at"]) > _parse(original["updated_at"])
    assert first.json()["created_at"] == original["created_at"]


def test_complete_with_an_empty_body_toggles(api_a, task_factory):
    task = task_factory(completed=False)
    url = f"/api/user-a/tasks/{task.id}/complete"

    first = api_a.patch(url, b"", content_type="application/json")
    second = api_a.patch(url, {}, format="json")

    assert (first.status_code, second.status_code) == (200, 200)
    assert (first.json()["completed"], second.json()["completed"]) == (True, False)


@pytest.mark.parametrize("initially", [False, True], ids=["pending", "completed"])
@pytest.mark.parametrize("wanted", [True, False], ids=["complete", "reopen"])
def test_complete_with_a_completed_body_sets_that_state_idempotently(api_a, initially, wanted):
    """A stale page that sends {"completed": true} for a task already complete must not reopen it."""
    task = Task.objects.get(
        pk=api_a.post("/api/user-a/tasks", {"title": "t", "completed": initially}, format="json").json()["id"]
    )
    url = f"/api/user-a/tasks/{task.id}/complete"

    first = api_a.patch(url, {"completed": wanted}, format="json")
    again = api_a.patch(url, {"completed": wanted}, format="json")

    assert (first.status_code, again.status_code) == (200, 200)
    assert first.json()["completed"] is again.json()["completed"] is wanted
    task.refresh_from_db()
    assert task.completed is wanted
    assert (task.completed_at is not None) is wanted


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b'{"completed": "true"}', "application/json", 400),
        (b'{"completed": 1}', "application/json", 400),
        (b'{"completed": null}', "application/json", 400),
        (b'{"done": true}', "application/json", 400),
        (b'{"completed": true, "title": "renamed"}', "application/json", 400),
        (b"[]", "application/json", 400),
        (b"true", "application/json", 400),
        (b'{"completed": tru', "application/json", 400),
        (b"completed=true", "application/x-www-form-urlencoded", 415),
        (b'{"completed": true}', "text/plain", 415),
        (b'{"completed": true}', None, 415),
    ],
    ids=["string", "number", "null", "unknown-key", "extra-key", "array", "bare-true", "malformed", "form",
         "text-plain", "no-content-type"],
)  # fmt: skip
def test_complete_refuses_any_other_body_and_changes_nothing(api_a, task_factory, body, content_type, status):
    task = task_factory(title="keep", completed=False)
    before = api_a.get(f"/api/user-a/tasks/{task.id}").json()

    response = api_a.generic("PATCH", f"/api/user-a/tasks/{task.id}/complete", body, content_type=content_type)

    assert response.status_code == status
    assert "application/json" in response["Content-Type"]
    assert response.json()
    assert api_a.get(f"/api/user-a/tasks/{task.id}").json() == before


def test_trailing_slash_is_optional(api_a, task_factory):
    task = task_factory()

    assert api_a.get("/api/user-a/tasks/").status_code == 200
    assert api_a.get(f"/api/user-a/tasks/{task.id}/").status_code == 200
    assert api_a.patch(f"/api/user-a/tasks/{task.id}/complete/").status_code == 200


# --- Ownership: another user's task is a 404 on every route; a path that is not yours is a 403 ---

TASK_ROUTES = [
    ("get", "/api/{user}/tasks/{id}", None),
    ("put", "/api/{user}/tasks/{id}", {"title": "stolen"}),
    ("patch", "/api/{user}/tasks/{id}", {"title": "stolen"}),
    ("delete", "/api/{user}/tasks/{id}", None),
    ("patch", "/api/{user}/tasks/{id}/complete", None),
]
ALL_ROUTES = [("get", "/api/{user}/tasks", None), ("post", "/api/{user}/tasks", {"title": "x"}), *TASK_ROUTES]


@pytest.mark.parametrize(("method", "path", "body"), TASK_ROUTES, ids=[f"{m}:{p}" for m, p, _ in TASK_ROUTES])
def test_foreign_task_is_404_on_every_route_and_stays_untouched(client_for, task_factory, method, path, body):
    foreign = task_factory(user_id=USER_A, title="A's task", completed=False)
    client_b = client_for(USER_B)

    response = getattr(client_b, method)(path.format(user=USER_B, id=foreign.id), body, format="json")

    assert response.status_code == 404
    assert response.json() == {"detail": f"Task {foreign.id} not found."}
    foreign.refresh_from_db()
    assert (foreign.title, foreign.completed, foreign.user_id) == ("A's task", False, USER_A)


@pytest.mark.parametrize(("method", "path", "body"), TASK_ROUTES, ids=[f"{m}:{p}" for m, p, _ in TASK_ROUTES])
@pytest.mark.parametrize("task_id", [999_999, 10**30], ids=["missing", "out-of-range"])
def test_unknown_task_id_is_404(api_a, method, path, body, task_id):
    response = getattr(api_a, method)(path.format(user=USER_A, id=task_id), body, format="json")

    assert response.status_code == 404
    assert "detail" in response.json()


@pytest.mark.parametrize(("method", "path", "body"), ALL_ROUTES, ids=[f"{m}:{p}" for m, p, _ in ALL_ROUTES])
def test_path_user_that_is_not_the_token_user_is_403(client_for, task_factory, method, path, body):
    own = task_factory(user_id=USER_B)
    client_b = client_for(USER_B)

    response = getattr(client_b, method)(path.format(user=USER_A, id=own.id), body, format="json")

    assert response.status_code == 403
    assert "detail" in response.json()
    own.refresh_from_db()
    assert own.title != "stolen"


@pytest.mark.parametrize("user_id", ["Xk3PzQ9aB7LmN2vR5tY8wE1u", "user@example.com", "ünïcode-ïd", "42"])
def test_string_user_ids_of_any_shape_work(client_for, user_id):
    client = client_for(user_id)

    created = client.post(f"/api/{user_id}/tasks", {"title": "t"}, format="json")

    assert created.status_code == 201
    assert created.json()["user_id"] == user_id
    assert [task["id"] for task in client.get(f"/api/{user_id}/tasks").json()] == [created.json()["id"]]


# --- Validation: 400 with per-field messages; nothing is written ---

INVALID_BODIES = [
    ("missing-title", {"description": "no title"}, "title"),
    ("null-title", {"title": None}, "title"),
    ("empty-title", {"title": ""}, "title"),
    ("blank-title", {"title": "   "}, "title"),
    ("title-201-chars", {"title": "x" * 201}, "title"),
    ("title-not-a-string", {"title": 123}, "title"),
    ("title-a-list", {"title": ["a"]}, "title"),
    ("title-nul-character", {"title": "a\x00b"}, "title"),
    ("description-nul-character", {"title": "t", "description": "a\x00b"}, "description"),
    ("description-1001-chars", {"title": "t", "description": "d" * 1001}, "description"),
    ("description-not-a-string", {"title": "t", "description": {"a": 1}}, "description"),
    ("completed-not-a-boolean", {"title": "t", "completed": "yes"}, "completed"),
    ("completed-a-number", {"title": "t", "completed": 1}, "completed"),
    ("unknown-field", {"title": "t", "colour": "red"}, "colour"),
]


@pytest.mark.parametrize(("case", "body", "field"), INVALID_BODIES, ids=[c for c, _, _ in INVALID_BODIES])
def test_invalid_create_is_400_per_field_and_writes_nothing(api_a, case, body, field):
    response = api_a.post("/api/user-a/tasks", body, format="json")

    assert response.status_code == 400
    errors = response.json()
    assert field in errors
    assert all(isinstance(message, str) for message in errors[field])
    assert not Task.objects.exists()


@pytest.mark.parametrize(
    ("case", "body", "field"),
    [row for row in INVALID_BODIES if row[0] != "missing-title"],
    ids=[c for c, _, _ in INVALID_BODIES if c != "missing-title"],
)
def test_invalid_update_is_400_per_field_and_changes_nothing(api_a, task_factory, case, body, field):
    task = task_factory(title="keep", description="keep", completed=False)

    response = api_a.put(f"/api/user-a/tasks/{task.id}", body, format="json")

    assert response.status_code == 400
    assert field in response.json()
    task.refresh_from_db()
    assert (task.title, task.description, task.completed) == ("keep", "keep", False)


@pytest.mark.parametrize("length", [1, 200])
def test_title_lengths_at_the_limits_are_accepted(api_a, length):
    response = api_a.post("/api/user-a/tasks", {"title": "t" * length, "description": "d" * 1000}, format="json")

    assert response.status_code == 201
    assert len(response.json()["title"]) == length


@pytest.mark.parametrize(
    ("body", "content_type"),
    [(b"{not json", "application/json"), (b"[1, 2]", "application/json"), (b'"a string"', "application/json")],
    ids=["malformed", "array", "string"],
)
def test_body_that_is_not_a_json_object_is_400(api_a, body, content_type):
    response = api_a.generic("POST", "/api/user-a/tasks", body, content_type=content_type)

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"


def test_form_encoded_body_is_415_json(api_a):
    response = api_a.post("/api/user-a/tasks", {"title": "t"})  # multipart, not JSON

    assert response.status_code == 415
    assert "detail" in response.json()


# --- Every response under /api/ is JSON, errors included ---


@pytest.mark.parametrize("debug", [False, True], ids=["production", "debug"])
@pytest.mark.parametrize("path", ["/api/user-a/nothing-here", "/api/", "/api/user-a/tasks/1/nope"])
def test_unknown_api_path_is_json_404(api_a, settings, debug, path):
    settings.DEBUG = debug

    response = api_a.get(path)

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_non_numeric_task_id_is_json_404(api_a):
    response = api_a.get("/api/user-a/tasks/abc")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"


def test_method_not_allowed_is_json_405(api_a, task_factory):
    task = task_factory()

    assert api_a.delete("/api/user-a/tasks").status_code == 405
    response = api_a.post(f"/api/user-a/tasks/{task.id}", {"title": "t"}, format="json")
    assert response.status_code == 405
    assert "detail" in response.json()


def test_unexpected_error_is_json_500_without_a_stack_trace(api_a, monkeypatch):
    def boom(**kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr("tasks.selectors.task_list_all", boom)  # what the plain list reads

    response = api_a.get("/api/user-a/tasks")

    assert response.status_code == 500
    assert response.json() == {"detail": "Internal server error."}
    assert b"secret internals" not in response.content
