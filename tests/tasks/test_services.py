"""The task services and selectors: the single source of truth every interface calls."""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tasks import selectors, services
from tasks.exceptions import TaskNotFound
from tasks.models import Task
from tasks.services import TaskDraft
from tests.conftest import USER_A, USER_B, event_statements, statements

pytestmark = pytest.mark.django_db


def test_create_strips_and_validates_with_the_model_rules():
    task = services.task_create(user_id=USER_A, title="  Buy milk  ", description="  fresh ")

    assert (task.title, task.description, task.completed) == ("Buy milk", "fresh", False)
    assert task.created_at == task.updated_at


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": None}, "title"),
        ({"title": "ok", "description": "d" * 1001}, "description"),
    ],
)
def test_create_rejects_invalid_values_per_field(values, field):
    with pytest.raises(ValidationError) as caught:
        services.task_create(user_id=USER_A, **values)

    assert field in caught.value.message_dict
    assert not Task.objects.exists()


def test_update_changes_only_the_given_fields_and_bumps_updated_at(task_factory):
    task = task_factory(title="a", description="d")

    updated = services.task_update(user_id=USER_A, task_id=task.id, title="b")

    assert (updated.title, updated.description) == ("b", "d")
    assert updated.updated_at > task.updated_at
    assert updated.created_at == task.created_at


def test_update_without_changes_writes_nothing(task_factory, django_assert_num_queries):
    task = task_factory()

    with django_assert_num_queries(1):
        same = services.task_update(user_id=USER_A, task_id=task.id)

    assert same.updated_at == task.updated_at


def test_update_refuses_fields_that_are_not_editable(task_factory):
    task = task_factory()

    with pytest.raises(TypeError, match="created_at"):
        services.task_update(user_id=USER_A, task_id=task.id, created_at="2000-01-01T00:00:00Z")


@pytest.mark.parametrize(
    "operation",
    [
        lambda task_id: selectors.task_get(user_id=USER_B, task_id=task_id),
        lambda task_id: services.task_update(user_id=USER_B, task_id=task_id, title="stolen"),
        lambda task_id: services.task_toggle(user_id=USER_B, task_id=task_id),
        lambda task_id: services.task_delete(user_id=USER_B, task_id=task_id),
    ],
    ids=["get", "update", "toggle", "delete"],
)
def test_another_users_task_is_not_found_for_every_operation(task_factory, operation):
    task = task_factory(user_id=USER_A, title="mine")

    with pytest.raises(TaskNotFound):
        operation(task.id)

    task.refresh_from_db()
    assert (task.title, task.completed) == ("mine", False)


def test_delete_returns_the_deleted_task(task_factory):
    task = task_factory(title="gone soon")

    deleted = services.task_delete(user_id=USER_A, task_id=task.id)

    assert deleted.title == "gone soon"
    assert Task.objects.get(pk=task.id).deleted_at == deleted.deleted_at is not None
    with pytest.raises(TaskNotFound):
        selectors.task_get(user_id=USER_A, task_id=task.id)


def test_list_is_scoped_and_filtered(task_factory):
    task_factory(completed=True)
    pending = task_factory(completed=False)
    task_factory(user_id=USER_B)

    assert list(selectors.task_list(user_id=USER_A, completed=False)) == [pending]
    assert selectors.task_list(user_id=USER_A).count() == 2


def test_bulk_create_validates_and_reports_progress():
    seen = []
    drafts = (TaskDraft(user_id=f"u{n % 3}", title=f"t{n}") for n in range(25))

    created = services.task_bulk_create(drafts=drafts, batch_size=10, progress=seen.append)

    assert created == 25
    assert seen == [10, 20, 25]
    assert selectors.task_counts_by_user(user_ids=["u0", "u1", "u2"]) == {"u0": 9, "u1": 8, "u2": 8}
    with pytest.raises(ValidationError):
        services.task_bulk_create(drafts=[TaskDraft(user_id="u0", title="")])


@pytest.mark.parametrize(
    ("name", "operation", "budget", "writes"),
    [
        ("list", lambda task: list(selectors.task_list(user_id=USER_A)), 1, False),
        ("get", lambda task: selectors.task_get(user_id=USER_A, task_id=task.id), 1, False),
        ("create", lambda task: services.task_create(user_id=USER_A, title="t"), 2, "in_statement"),  # COUNT, INSERT
        ("delete", lambda task: services.task_delete(user_id=USER_A, task_id=task.id), 1, "in_statement"),
    ],
)
def test_query_budget(task_factory, name, operation, budget, writes):
    task = task_factory()
    task_factory.create_batch(5)

    with CaptureQueriesContext(connection) as captured:
        operation(task)

    event = event_statements(in_statement=writes == "in_statement") if writes else 0
    assert len(statements(captured)) == budget + event  # and the event


@pytest.mark.django_db(transaction=True)
def test_concurrent_toggles_never_lose_an_update():
    if connection.vendor != "postgresql":
        pytest.skip("needs a database with row locks and concurrent writers: runs in the PostgreSQL pass")
    task = services.task_create(user_id=USER_A, title="contended")
    threads, toggles_each = 7, 13  # 91 toggles of a pending task: it ends completed
    barrier = threading.Barrier(threads)
    results, errors = [], []

    def worker() -> None:
        try:
            barrier.wait()
            for _ in range(toggles_each):
                results.append(services.task_toggle(user_id=USER_A, task_id=task.id).completed)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()

    assert errors == []
    assert selectors.task_get(user_id=USER_A, task_id=task.id).completed is True
    # Each toggle returned the state it wrote: the states alternate, so 46 True and 45 False.
    assert (results.count(True), results.count(False)) == (46, 45)
