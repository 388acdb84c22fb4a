"""Heavy requests (todo_project/slots.py): bulk create, bulk-update, import and export run at most
HEAVY_REQUESTS_PER_USER at once per user (429 beyond) and HEAVY_REQUESTS_PER_WORKER in all (503 beyond) in a
worker, refused with Retry-After before anything is written; the slot comes back after an error, and after
an export's stream ends or is closed, read or not."""

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from django.db import connection, transaction
from django.http import HttpResponseBase
from rest_framework.test import APIClient

from tasks import services
from tasks.models import IdempotencyKey, Task
from tests.conftest import USER_A, USER_B, TaskFactory
from todo_project import slots

Send = Callable[[APIClient, str], HttpResponseBase]


def bulk_create(client: APIClient, user: str) -> HttpResponseBase:
    return client.post(f"/api/{user}/tasks/bulk", {"tasks": [{"title": "Bulk"}]}, format="json",
                       HTTP_IDEMPOTENCY_KEY="k-1")  # fmt: skip


def bulk_update(client: APIClient, user: str) -> HttpResponseBase:
    ids = list(Task.objects.filter(user_id=user).values_list("id", flat=True)[:2])
    return client.post(f"/api/{user}/tasks/bulk-update", {"ids": ids, "action": "complete"}, format="json")


def import_(client: APIClient, user: str) -> HttpResponseBase:
    return client.generic("POST", f"/api/{user}/tasks/import", b'[{"title": "Imported"}]', "application/json")


def export(client: APIClient, user: str) -> HttpResponseBase:
    response = client.get(f"/api/{user}/tasks/export")
    if response.status_code == 200:  # read to its end, which closes it (the test client's wrapper)
        b"".join(response.streaming_content)  # type: ignore[attr-defined]
    return response


HEAVY: dict[str, tuple[Send, int]] = {
    "bulk create": (bulk_create, 201),
    "bulk-update": (bulk_update, 200),
    "import": (import_, 201),
    "export": (export, 200),
}
routes = pytest.mark.parametrize(("send", "ok"), HEAVY.values(), ids=HEAVY.keys())


@pytest.fixture
def two_tasks_each(db: None) -> None:
    for user in (USER_A, USER_B):
        TaskFactory.create_batch(2, user_id=user)


@pytest.fixture
def api_b(client_for: Callable[[str], APIClient]) -> APIClient:
    return client_for(USER_B)


def stored() -> tuple[list[tuple[str, bool]], int]:
    """What a refused request must leave as it was: every task (its user, done or not) and the keys."""
    tasks = list(Task.objects.order_by("id").values_list("user_id", "completed"))
    return tasks, IdempotencyKey.objects.count()


def assert_refused(response: HttpResponseBase, code: int) -> None:
    assert response.status_code == code, response.content
    assert response["Retry-After"] == str(slots.RETRY_AFTER_SECONDS)
    assert "again" in json.loads(response.content)["detail"]


@routes
def test_a_users_second_heavy_request_is_a_429_and_writes_nothing(api_a, two_tasks_each, send, ok):
    give_back = slots.HEAVY_REQUESTS.take(USER_A)  # another request of user A, in flight
    try:
        before = stored()
        assert_refused(send(api_a, USER_A), 429)
        assert stored() == before
        assert api_a.get(f"/api/{USER_A}/tasks").status_code == 200  # a plain request needs no slot
    finally:
        give_back()
    assert send(api_a, USER_A).status_code == ok


@routes
def test_another_users_heavy_request_runs_beside_it(api_b, two_tasks_each, send, ok):
    give_back = slots.HEAVY_REQUESTS.take(USER_A)
    try:
        assert send(api_b, USER_B).status_code == ok
    finally:
        give_back()


@routes
def test_a_full_worker_is_a_503_for_every_user(api_a, two_tasks_each, settings, send, ok):
    settings.HEAVY_REQUESTS_PER_WORKER = 1
    give_back = slots.HEAVY_REQUESTS.take(USER_B)
    try:
        before = stored()
        assert_refused(send(api_a, USER_A), 503)
        assert stored() == before
    finally:
        give_back()
    assert send(api_a, USER_A).status_code == ok


@pytest.mark.django_db(transaction=True)
def test_while_a_bulk_update_runs_the_same_users_heavy_requests_wait_and_others_do_not(
    api_a, api_b, monkeypatch
):  # fmt: skip
    """Through HTTP on two threads: user A's bulk-update is inside its service when A's other requests come."""
    for user in (USER_A, USER_B):
        TaskFactory.create_batch(2, user_id=user)
    inside, release = threading.Event(), threading.Event()
    real = services.task_bulk_update

    def slow_bulk_update(**kwargs: object) -> list[Task]:
        inside.set()
        assert release.wait(timeout=30)
        return real(**kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(services, "task_bulk_update", slow_bulk_update)
    first: list[HttpResponseBase] = []
    running = threading.Thread(target=lambda: first.append(bulk_update(api_a, USER_A)))
    running.start()
    try:
        assert inside.wait(timeout=30)
        for send, _ in HEAVY.values():
            assert_refused(send(api_a, USER_A), 429)
        assert api_a.get(f"/api/{USER_A}/tasks").status_code == 200
        assert bulk_create(api_b, USER_B).status_code == 201
    finally:
        release.set()
        running.join(timeout=30)
    assert first[0].status_code == 200, first[0].content
    assert bulk_create(api_a, USER_A).status_code == 201


@routes
def test_a_refused_or_failed_request_gives_its_slot_back(api_a, two_tasks_each, send, ok):
    bad = {
        bulk_create: lambda: api_a.post(f"/api/{USER_A}/tasks/bulk", {"tasks": [{"title": ""}]}, format="json"),
        bulk_update: lambda: api_a.post(
            f"/api/{USER_A}/tasks/bulk-update", {"ids": [10**9], "action": "complete"}, format="json"
        ),
        import_: lambda: api_a.generic("POST", f"/api/{USER_A}/tasks/import", b"[{", "application/json"),
        export: lambda: api_a.get(f"/api/{USER_A}/tasks/export", {"priority": "urgent"}),
    }[send]
    for _ in range(2):  # per user 1: a slot kept by the first would refuse the second
        assert bad().status_code == 400
    assert send(api_a, USER_A).status_code == ok


@pytest.mark.django_db
def test_a_slot_comes_back_after_a_500(api_a, two_tasks_each, monkeypatch):
    def broken(**kwargs: object) -> None:
        raise RuntimeError("broken")

    monkeypatch.setattr(services, "task_bulk_update", broken)
    api_a.raise_request_exception = False
    assert bulk_update(api_a, USER_A).status_code == 500
    monkeypatch.undo()
    assert bulk_update(api_a, USER_A).status_code == 200


@pytest.mark.django_db
def test_an_export_holds_its_slot_until_its_stream_ends(api_a, two_tasks_each):
    stream = api_a.get(f"/api/{USER_A}/tasks/export")
    assert stream.status_code == 200
    assert_refused(bulk_create(api_a, USER_A), 429)  # the export, not yet read, holds A's slot
    assert len(json.loads(b"".join(stream.streaming_content))) == 2  # read to its end: closed
    assert bulk_create(api_a, USER_A).status_code == 201


@pytest.mark.django_db(transaction=True)  # closing a response by hand closes the connection (request_finished)
def test_an_export_closed_unread_gives_its_slot_back(api_a):
    """A client gone before the first byte: the server closes the response without iterating it."""
    TaskFactory.create_batch(2)
    stream = api_a.get(f"/api/{USER_A}/tasks/export", {"format": "csv"})
    assert_refused(export(api_a, USER_A), 429)
    stream.close()
    assert export(api_a, USER_A).status_code == 200


def test_per_user_and_per_worker_counts(settings):
    settings.HEAVY_REQUESTS_PER_USER = 2
    settings.HEAVY_REQUESTS_PER_WORKER = 3
    a1, a2 = slots.HEAVY_REQUESTS.take(USER_A), slots.HEAVY_REQUESTS.take(USER_A)
    with pytest.raises(slots.UserBusy):
        slots.HEAVY_REQUESTS.take(USER_A)
    b1 = slots.HEAVY_REQUESTS.take(USER_B)
    with pytest.raises(slots.Busy) as refused:
        slots.HEAVY_REQUESTS.take(USER_B)
    assert refused.value.status_code == 503
    a1()
    a1()  # given back twice, counted once
    c1 = slots.HEAVY_REQUESTS.take("user-c")
    with pytest.raises(slots.Busy):
        slots.HEAVY_REQUESTS.take("user-c")
    for give_back in (a2, b1, c1):
        give_back()
    for give_back in [slots.HEAVY_REQUESTS.take(user) for user in (USER_A, USER_B, "user-c")]:  # all free again
        give_back()


@pytest.mark.parametrize(("threads", "per_worker"), [("8", "4"), ("4", "2"), ("1", "1")])
def test_the_defaults_are_half_the_threads_and_one_per_user(threads, per_worker):
    env = {**os.environ, "THREADS": threads}
    env.pop("HEAVY_REQUESTS_PER_WORKER", None)
    env.pop("HEAVY_REQUESTS_PER_USER", None)
    code = "import todo_project.settings as s; print(s.HEAVY_REQUESTS_PER_WORKER, s.HEAVY_REQUESTS_PER_USER)"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)  # noqa: S603
    assert done.stdout.split() == [per_worker, "1"]


def test_the_429_and_503_are_documented():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    paths = {"/api/{user_id}/tasks/bulk": "post", "/api/{user_id}/tasks/bulk-update": "post",
             "/api/{user_id}/tasks/import": "post", "/api/{user_id}/tasks/export": "get"}  # fmt: skip
    for path, method in paths.items():
        responses = schema["paths"][path][method]["responses"]
        assert "HEAVY_REQUESTS_PER_USER" in responses["429"]["description"], path
        assert "HEAVY_REQUESTS_PER_WORKER" in responses["503"]["description"], path


@pytest.mark.django_db
def test_a_refusal_is_logged_as_a_warning_not_an_error(api_a, caplog):
    give_back = slots.HEAVY_REQUESTS.take(USER_A)
    try:
        with caplog.at_level("INFO"):
            assert_refused(bulk_create(api_a, USER_A), 429)
    finally:
        give_back()
    refusals = [record for record in caplog.records if "UserBusy" in record.getMessage()]
    assert [record.levelname for record in refusals] == ["WARNING"]
    assert not [record for record in caplog.records if record.name == "django.request"]


postgresql_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no row locks")


@contextmanager
def row_locked(task_id: int) -> Iterator[None]:
    """Another request (a thread, a connection of its own) holding the task's row until the block ends."""
    held, done = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic():
                Task.objects.select_for_update().filter(pk=task_id).first()
                held.set()
                done.wait(timeout=10)  # without a lock timeout the bulk-update waits this long, then succeeds
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert held.wait(timeout=10)
        yield
    finally:
        done.set()
        holder.join(timeout=15)


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_bulk_update_on_rows_another_request_holds_is_a_409_and_writes_nothing(api_a, settings):
    settings.BULK_LOCK_TIMEOUT_MS = 300
    tasks = TaskFactory.create_batch(3)
    with row_locked(tasks[1].id):
        started = time.monotonic()
        response = bulk_update(api_a, USER_A)
        waited = time.monotonic() - started
        assert response.status_code == 409, response.content
        assert response["Retry-After"] == "2"
        assert "again" in response.json()["detail"]
        assert waited < 5
        assert not Task.objects.filter(completed=True).exists()
    with connection.cursor() as cursor:  # the timeout was the transaction's: the connection's is the default
        cursor.execute("SHOW lock_timeout")
        assert cursor.fetchone() == ("0",)
    assert bulk_update(api_a, USER_A).status_code == 200
    assert Task.objects.filter(completed=True).count() == 2


@pytest.mark.django_db
def test_a_bulk_update_without_contention_runs_on_every_database(api_a, two_tasks_each):
    assert bulk_update(api_a, USER_A).status_code == 200
    assert Task.objects.filter(user_id=USER_A, completed=True).count() == 2
