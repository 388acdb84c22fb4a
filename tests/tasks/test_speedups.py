"""Each trick of the speed layer (tasks/speedups.py) answers exactly what the plain ORM path answers."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django import db  # noqa: F401 - read by a skipif condition
from django.db.models import Aggregate, JSONField, OuterRef, Q, Subquery, signals
from django.utils import timezone

from tasks import selectors, services, speedups
from tasks.exceptions import TaskNotFound
from tasks.models import Task
from tests.conftest import USER_A, USER_B

pytestmark = pytest.mark.django_db
FIELDS = [field.attname for field in Task._meta.concrete_fields]


class JSONArrayAgg(Aggregate):
    """The plain ORM's tag names: an aggregate over the through model (json_group_array / jsonb_agg)."""

    function = "JSON_GROUP_ARRAY"
    output_field = JSONField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return super().as_sql(compiler, connection, function="JSONB_AGG", **extra)


def plain_tag_names() -> Subquery:
    links = Task.tags.through.objects.filter(task_id=OuterRef("pk")).order_by().values("task_id")
    return Subquery(links.annotate(names=JSONArrayAgg("tag__name")).values("names"))


def row(task: Task) -> dict[str, Any]:
    return {name: getattr(task, name) for name in FIELDS} | {"tags": selectors.tag_list_of(task)}


def some_tasks() -> list[Task]:
    now = timezone.now()
    tasks = []
    for n in range(6):
        task = services.task_create(
            user_id=USER_A, title=f"t{n}", description="d" if n % 2 else None, priority="high" if n % 3 else "none",
            tags=[["home"], [], ["errands", "home", "x"]][n % 3],
            due_at=datetime(2031, 1, 2, 3, 4, 5, 678901, tzinfo=UTC) if n % 2 else None,
        )  # fmt: skip
        Task.objects.filter(pk=task.id).update(created_at=now - timedelta(minutes=n % 3))  # ties: id decides
        tasks.append(task)
    services.task_create(user_id=USER_B, title="not mine", tags=["home"])
    services.task_delete(user_id=USER_A, task_id=tasks[-1].id)
    return tasks


def test_tag_names_as_sql_equal_the_orm_aggregate():
    some_tasks()
    fast = Task.objects.annotate(tag_names=speedups.tag_names()).order_by("id")
    plain = Task.objects.annotate(tag_names=plain_tag_names()).order_by("id")
    assert [row(task) for task in fast] == [row(task) for task in plain]


@pytest.mark.parametrize("tags", [[], ["home", "errands"]], ids=["untagged", "tagged"])
def test_task_get_from_its_compiled_query_equals_the_orm_read(tags):
    task = services.task_create(
        user_id=USER_A, title="Compiled", description="d", priority="high", tags=tags,
        due_at=datetime(2031, 1, 2, 3, 4, 5, 678901, tzinfo=UTC), recurrence="FREQ=WEEKLY",
    )  # fmt: skip
    services.task_toggle(user_id=USER_A, task_id=task.id)
    plain = Task.objects.filter(pk=task.id, user_id=USER_A, deleted_at=None).annotate(tag_names=plain_tag_names())
    got = selectors.task_get(user_id=USER_A, task_id=task.id)
    assert row(got) == row(plain.get())
    assert selectors.tag_list_of(got) == sorted(tags)
    assert got.due_at.tzinfo is not None
    assert got.created_at.tzinfo is not None


def test_task_get_from_its_compiled_query_keeps_owners_and_tombstones_apart():
    task = services.task_create(user_id=USER_A, title="Mine")
    with pytest.raises(TaskNotFound):
        selectors.task_get(user_id=USER_B, task_id=task.id)
    with pytest.raises(TaskNotFound):
        selectors.task_get(user_id=USER_A, task_id=task.id + 1000)
    with pytest.raises(TaskNotFound):
        selectors.task_get(user_id=USER_A, task_id=2**63)  # beyond the column: no such task, not an overflow
    services.task_delete(user_id=USER_A, task_id=task.id)
    with pytest.raises(TaskNotFound):
        selectors.task_get(user_id=USER_A, task_id=task.id)


def test_the_plain_list_from_its_compiled_query_equals_the_orm_list():
    some_tasks()
    plain = Task.objects.filter(user_id=USER_A, deleted_at=None).annotate(tag_names=plain_tag_names())

    got = selectors.task_list_all(user_id=USER_A)

    assert [row(task) for task in got] == [row(task) for task in plain]  # the model's order: newest, then id
    assert len(got) == 5
    assert all(isinstance(task.tag_names, list | None) for task in got)  # decoded, as the ORM decodes them
    assert selectors.task_list_all(user_id="nobody") == []


def test_a_compiled_query_refuses_a_sentinel_it_cannot_place():
    query = speedups.CompiledQuery(lambda user_id: Task.objects.filter(user_id="someone"), user_id="\x00nowhere")
    with pytest.raises(ValueError, match="sentinel"):
        query(user_id="a")


@pytest.mark.parametrize(
    ("condition", "values"),
    [
        (Q(), {"title": "Renamed"}),
        (Q(completed=False), {"completed": True, "completed_at": datetime(2030, 1, 1, tzinfo=UTC)}),
        (Q(completed=True), {"title": "not written: the condition does not hold"}),
    ],
    ids=["rename", "conditional", "condition-fails"],
)
def test_update_returning_answers_the_row_the_plain_update_writes(condition, values):
    first, twin = (services.task_create(user_id=USER_A, title="Same", tags=["home"]) for _ in range(2))
    now = timezone.now()

    written = speedups.update_returning(Task.objects.filter(condition, pk=first.id), {"updated_at": now, **values})
    matched = Task.objects.filter(condition, pk=twin.id).update(updated_at=now, **values)

    plain = Task.objects.annotate(tag_names=plain_tag_names())
    if not matched:
        assert written is None
        assert row(plain.get(pk=first.id))["title"] == "Same"
        return
    assert written is not None
    expected = row(plain.get(pk=twin.id)) | {"id": first.id, "created_at": first.created_at}
    assert row(written) == expected == row(plain.get(pk=first.id))


def test_tasks_of_answers_what_the_raw_queryset_answers_with_or_without_init_signals():
    some_tasks()
    sql, params = speedups._TASK_LIST.bound(user_id=USER_A)
    plain = list(Task.objects.raw(sql, params))

    fast = list(speedups.tasks_of(Task.objects.raw(sql, params)))
    seen: list[Task] = []

    def record(sender: type, instance: Task, **kwargs: Any) -> None:
        seen.append(instance)

    signals.post_init.connect(record, sender=Task)
    try:
        signalled = list(speedups.tasks_of(Task.objects.raw(sql, params)))
    finally:
        signals.post_init.disconnect(record, sender=Task)

    expected = [row(task) | {"tag_names": task.tag_names} for task in plain]
    for got in (fast, signalled):
        assert [row(task) | {"tag_names": task.tag_names} for task in got] == expected
        assert all(not task._state.adding and task._state.db == "default" for task in got)
    assert seen == signalled  # a receiver of post_init is still called, for every task
    fast[0].title = "saved through the ORM"
    fast[0].save()
    assert Task.objects.get(pk=fast[0].pk).title == "saved through the ORM"


def test_tasks_of_refuses_a_query_without_every_column():
    with pytest.raises(ValueError, match="every column"):
        list(speedups.tasks_of(Task.objects.raw('SELECT "id", "title" FROM "tasks_task"')))


NOW = datetime(2026, 12, 2, 12, 0, 0, 123456, tzinfo=UTC)


@pytest.mark.skipif("db.connection.vendor != 'postgresql'", reason="update_recording is PostgreSQL's")
@pytest.mark.parametrize(
    "values",
    [
        {"title": "Renamed", "description": 'with ünïcode \u2028 and "quotes"'},
        {"completed": True, "completed_at": NOW},  # a completion
        {"completed": False, "completed_at": None},  # reopened
        {"deleted_at": NOW},  # to the trash
        {"priority": 3, "due_at": NOW + timedelta(days=1), "recurrence": "FREQ=WEEKLY;BYDAY=MO"},
        {"position": -5, "parent_id": None},
    ],
    ids=["fields", "completed", "reopened", "deleted", "due-repeating", "position"],
)
def test_update_recording_records_the_event_that_the_plain_path_records(values):
    """Its provisional event, once the sequencer made it proper, is tasks_changed's event of the row as
    update_returning writes it (the same type and data), and its row is update_returning's."""
    from events.models import Event
    from events.sequencer import sequence_round
    from tasks.events import task_event_data, written_kind
    from tasks.serializers import render_task

    made = [services.task_create(user_id=USER_A, title="Milk", tags=["shop", "food"]) for _ in range(2)]
    Task.objects.filter(id__in=[task.id for task in made]).update(created_at=NOW - timedelta(days=3))  # alike
    Event.objects.all().delete()
    written = {"updated_at": NOW, **values}
    fast = speedups.update_recording(Task.objects.filter(pk=made[0].id), written, event_id=uuid.uuid4())
    plain = speedups.update_returning(Task.objects.filter(pk=made[1].id), written)
    assert fast is not None
    assert plain is not None
    assert row(fast) | {"id": 0} == row(plain) | {"id": 0}
    assert fast.tag_names == plain.tag_names == ["food", "shop"]  # type: ignore[attr-defined]
    while sequence_round():
        pass
    [event] = Event.objects.all()
    kind = written_kind(written, plain)
    expected = task_event_data(kind, fast, fast.updated_at)
    assert (event.type, event.subject, event.time) == (f"todo.task.{kind}", f"tasks/{fast.id}", NOW)
    assert event.data == expected
    assert event.data["task_data"] | {"id": 0} == render_task(plain) | {"id": 0}


@pytest.mark.skipif("db.connection.vendor != 'postgresql'", reason="insert_recording is PostgreSQL's")
@pytest.mark.parametrize(
    "values",
    [{"title": "Milk"}, {"title": "Done", "completed": True, "priority": "high", "description": "d"},
     {"title": "Weekly", "due_at": NOW, "recurrence": "FREQ=WEEKLY;BYDAY=MO", "position": 7}],
    ids=["plain", "completed", "repeating"],
)  # fmt: skip
def test_a_create_records_in_its_statement_the_event_the_plain_path_records(values):
    """services.task_create of an untagged Inbox task (insert_recording) and with a tag (the plain path:
    INSERT, then the event's) make the same task and, once the sequencer made it proper, the same event."""
    from events.models import Event
    from events.sequencer import sequence_round
    from tasks.serializers import render_task

    fast = services.task_create(user_id=USER_A, **values)
    plain = services.task_create(user_id=USER_A, tags=["x"], **values)
    while sequence_round():
        pass
    got = {event.subject: event for event in Event.objects.all()}
    mine, theirs = got[f"tasks/{fast.id}"], got[f"tasks/{plain.id}"]
    assert (mine.type, theirs.type) == ("todo.task.created", "todo.task.created")
    alike = {"id": 0, "tags": [], "created_at": "", "updated_at": "", "completed_at": "", "due_at": ""}
    assert mine.data["task_data"] | alike == theirs.data["task_data"] | alike
    assert mine.data["task_data"] == render_task(selectors.task_get(user_id=USER_A, task_id=fast.id))
    assert set(mine.data) == set(theirs.data)
    assert mine.data["timestamp"] == mine.data["task_data"]["updated_at"]
