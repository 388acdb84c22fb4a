"""The outbox: every change of a task, list or tag writes its event in the change's own transaction,
numbered per user, through every front (REST, bulk, import, chat, the admin, the commands)."""

import io
import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from events import outbox
from events.cloudevent import cloudevent, structured_json
from events.models import Event, EventSequence
from events.sequencer import sequence_round
from tasks import services
from tasks.models import Tag, Task, TaskList
from tests.conftest import TRANSACTION_CONTROL, USER_A, USER_B, concurrently, event_statements, statements

pytestmark = pytest.mark.django_db
API = f"/api/{USER_A}"
TASKS = f"{API}/tasks"


def events(user_id=USER_A):
    """The user's events as the worker's sequencer leaves them: numbered, and proper (speedups.update_recording)."""
    while sequence_round():
        pass
    return list(Event.objects.filter(user_id=user_id).order_by("id"))


def types(user_id=USER_A):
    return [(event.type, event.subject) for event in events(user_id)]


def create(api, **body):
    response = api.post(TASKS, {"title": "t", **body}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_each_write_of_a_task_is_an_event_with_the_task_as_it_became(api_a):
    task = create(api_a, title="Milk", tags=["shop"])
    api_a.patch(f"{TASKS}/{task['id']}", {"title": "Oat milk", "tags": ["shop", "food"]}, format="json")
    api_a.patch(f"{TASKS}/{task['id']}/complete")
    api_a.patch(f"{TASKS}/{task['id']}/complete")
    api_a.delete(f"{TASKS}/{task['id']}")
    api_a.post(f"{TASKS}/{task['id']}/restore")

    subject = f"tasks/{task['id']}"
    kinds = ["created", "updated", "completed", "updated", "deleted", "restored"]
    assert types() == [(f"todo.task.{kind}", subject) for kind in kinds]
    got = events()
    assert [event.sequence for event in got] == [1, 2, 3, 4, 5, 6]
    assert [event.data["event_type"] for event in got] == ["created", "updated", "completed", "updated", "deleted",
                                                            "updated"]  # fmt: skip
    updated = got[1].data
    assert set(updated) == {"event_type", "task_id", "task_data", "user_id", "timestamp"}
    assert (updated["task_id"], updated["user_id"]) == (task["id"], USER_A)
    assert updated["task_data"]["title"] == "Oat milk"
    assert updated["task_data"]["tags"] == ["food", "shop"]  # the tags written with it, not those before
    assert updated["timestamp"] == updated["task_data"]["updated_at"]
    assert got[2].data["task_data"]["completed"] is True
    assert got[5].data["task_data"] == api_a.get(f"{TASKS}/{task['id']}").json()


def test_each_user_has_their_own_sequence(api_a, client_for):
    create(api_a)
    assert client_for(USER_B).post(f"/api/{USER_B}/tasks", {"title": "theirs"}, format="json").status_code == 201
    create(api_a)
    assert {event.sequence for event in Event.objects.filter(user_id=USER_A)} == {None}  # numbered by the worker

    assert sequence_round() == 3
    assert sequence_round() == 0
    assert [event.sequence for event in events(USER_A)] == [1, 2]
    assert [event.sequence for event in events(USER_B)] == [1]
    assert EventSequence.objects.get(user_id=USER_A).last == 2


@pytest.mark.parametrize(
    "request_",
    [
        ("patch", "{task}", {"title": ""}, {}),  # invalid
        ("patch", "{task}", {"title": "x"}, {"HTTP_IF_MATCH": '"1"'}),  # stale: 412
        ("post", "bulk", {"tasks": [{"title": "ok"}, {"title": ""}]}, {}),  # one invalid item: none
        ("post", "bulk-update", {"ids": ["{task}", 999999], "action": "complete"}, {}),  # an unknown id
        ("patch", "{task}", {"parent_id": "{task}"}, {}),  # a cycle
        ("post", "{task}/move", {"after": 999999}, {}),
    ],
    ids=["invalid", "stale", "bulk-invalid", "bulk-unknown", "cycle", "move-unknown"],
)
def test_a_refused_write_writes_no_event(api_a, request_):
    task = create(api_a)
    method, path, body, headers = request_
    fill = lambda value: task["id"] if value == "{task}" else value  # noqa: E731
    body = {name: [fill(v) for v in value] if isinstance(value, list) else fill(value) for name, value in body.items()}
    before = types()

    response = getattr(api_a, method)(f"{TASKS}/{path.format(task=task['id'])}", body, format="json", **headers)

    assert response.status_code in {400, 404, 412}, response.json()
    assert types() == before


def test_an_event_rolls_back_with_its_change():
    def create_then_fail():
        with transaction.atomic():
            services.task_create(user_id=USER_A, title="gone")
            raise RuntimeError

    with pytest.raises(RuntimeError):
        create_then_fail()

    assert not Task.objects.exists()
    assert not Event.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_recording_outside_a_transaction_is_refused():
    change = outbox.Change("todo.task.created", "tasks/1", timezone.now(), {})
    with pytest.raises(TransactionManagementError):
        outbox.record(USER_A, [change])


def test_a_parent_and_its_subtree_each_have_their_event_parent_first(api_a):
    parent = create(api_a, title="Trip")
    steps = [create(api_a, title=title, parent_id=parent["id"]) for title in ("Flights", "Hotel")]
    done = create(api_a, title="Visa", parent_id=parent["id"], completed=True)
    Event.objects.all().delete()

    api_a.patch(f"{TASKS}/{parent['id']}/complete")

    subjects = [f"tasks/{parent['id']}", *sorted(f"tasks/{step['id']}" for step in steps)]
    got = types()
    assert got[0] == ("todo.task.completed", subjects[0])
    assert sorted(got[1:]) == [("todo.task.completed", subject) for subject in subjects[1:]]  # not the done one
    assert f"tasks/{done['id']}" not in {subject for _, subject in got}

    api_a.delete(f"{TASKS}/{parent['id']}")
    api_a.post(f"{TASKS}/{parent['id']}/restore")
    kinds = [kind for kind, _ in types()[3:]]
    assert kinds == ["todo.task.deleted"] * 4 + ["todo.task.restored"] * 4


def test_bulk_import_and_bulk_update_write_one_event_per_task(api_a):
    made = api_a.post(f"{TASKS}/bulk", {"tasks": [{"title": "a"}, {"title": "b"}]}, format="json").json()["results"]
    ids = [task["id"] for task in made]
    api_a.post(f"{TASKS}/bulk-update", {"ids": ids, "action": "tag", "tags": ["x"]}, format="json")
    api_a.post(f"{TASKS}/bulk-update", {"ids": ids, "action": "complete"}, format="json")
    api_a.post(f"{TASKS}/bulk-update", {"ids": ids, "action": "delete"}, format="json")
    imported = api_a.post(f"{TASKS}/import", [{"title": "c"}], format="json")
    assert imported.status_code == 201, imported.json()

    kinds = [kind.removeprefix("todo.task.") for kind, _ in types()]
    assert kinds == ["created"] * 2 + ["updated"] * 2 + ["completed"] * 2 + ["deleted"] * 2 + ["created"]
    assert all(event.data["task_data"]["tags"] == ["x"] for event in events()[2:4])


def test_lists_and_their_tasks_have_events(api_a):
    work = api_a.post(f"{API}/lists", {"name": "Work"}, format="json").json()
    task = create(api_a, list_id=work["id"])
    api_a.patch(f"{API}/lists/{work['id']}", {"color": "#112233"}, format="json")
    api_a.delete(f"{API}/lists/{work['id']}")
    api_a.post(f"{API}/lists/{work['id']}/restore")

    inbox = TaskList.objects.get(user_id=USER_A, inbox=True)
    assert types() == [
        ("todo.list.created", f"lists/{inbox.id}"),  # made on first need
        ("todo.list.created", f"lists/{work['id']}"),
        ("todo.task.created", f"tasks/{task['id']}"),
        ("todo.list.updated", f"lists/{work['id']}"),
        ("todo.task.deleted", f"tasks/{task['id']}"),
        ("todo.list.deleted", f"lists/{work['id']}"),
        ("todo.list.restored", f"lists/{work['id']}"),
        ("todo.task.restored", f"tasks/{task['id']}"),
    ]
    updated = events()[3].data
    assert updated["list_data"]["color"] == "#112233"
    assert (updated["event_type"], updated["list_id"], updated["user_id"]) == ("updated", work["id"], USER_A)


def test_a_tag_renamed_or_deleted_is_an_event_and_so_are_its_tasks(api_a):
    task = create(api_a, tags=["work"])
    api_a.patch(f"{API}/tags/work", {"name": "office"}, format="json")
    api_a.delete(f"{API}/tags/office")

    got = events()
    assert [(event.type, event.subject) for event in got[1:]] == [
        ("todo.tag.renamed", "tags/work"),
        ("todo.task.updated", f"tasks/{task['id']}"),
        ("todo.tag.deleted", "tags/office"),
        ("todo.task.updated", f"tasks/{task['id']}"),
    ]
    assert got[1].data["new_name"] == "office"
    assert got[2].data["task_data"]["tags"] == ["office"]
    assert got[4].data["task_data"]["tags"] == []


def test_a_move_that_spreads_a_level_writes_the_events_of_the_rows_it_renumbers(api_a):
    first, second, third = (create(api_a, title=title) for title in "abc")
    Event.objects.all().delete()

    # Every task starts at position 0: no room between the first two, so the level is spread first.
    assert api_a.post(f"{TASKS}/{third['id']}/move", {"after": first["id"]}, format="json").status_code == 200

    subjects = {subject for _, subject in types()}
    assert subjects == {f"tasks/{task['id']}" for task in (second, third)}  # the first keeps its position, 0


def test_purging_writes_the_purged_events_with_the_tasks_as_they_were(api_a):
    task = create(api_a, title="Old")
    work = api_a.post(f"{API}/lists", {"name": "Work"}, format="json").json()
    api_a.delete(f"{TASKS}/{task['id']}")
    api_a.delete(f"{API}/lists/{work['id']}")
    Task.objects.update(deleted_at=timezone.now() - timedelta(days=40))
    TaskList.objects.filter(pk=work["id"]).update(deleted_at=timezone.now() - timedelta(days=40))

    call_command("purge_tasks", stdout=io.StringIO())

    purged = events()[-2:]
    assert [(event.type, event.subject) for event in purged] == [
        ("todo.task.purged", f"tasks/{task['id']}"),
        ("todo.list.purged", f"lists/{work['id']}"),
    ]
    assert (purged[0].data["event_type"], purged[0].data["task_data"]["title"]) == ("deleted", "Old")


def test_the_assistant_writes_events_through_the_same_services(api_a):
    response = api_a.post(f"{API}/chat", {"message": "add buy milk"}, format="json")
    assert response.status_code == 200, response.json()

    [(kind, subject)] = types()
    task = Task.objects.get(user_id=USER_A)
    assert (kind, subject) == ("todo.task.created", f"tasks/{task.id}")


def test_the_admins_edits_and_deletions_are_events(admin_client, task_factory):
    task = task_factory(title="Old")
    form = {"user_id": task.user_id, "title": "New", "description": "", "completed": "on", "priority": "2",
            "position": 0, "subtasks-TOTAL_FORMS": 0, "subtasks-INITIAL_FORMS": 0}  # fmt: skip

    assert admin_client.post(f"/admin/tasks/task/{task.id}/change/", form).status_code == 302
    assert admin_client.post(f"/admin/tasks/task/{task.id}/delete/", {"post": "yes"}).status_code == 302

    got = events(task.user_id)
    assert [(event.type, event.subject) for event in got] == [
        ("todo.task.completed", f"tasks/{task.id}"),
        ("todo.task.purged", f"tasks/{task.id}"),
    ]
    assert got[0].data["task_data"]["title"] == "New"


def test_an_event_is_a_cloudevent(api_a, settings):
    settings.EVENTS_SOURCE = "/todo-backend/test"
    task = create(api_a, title="Milk")
    with pytest.raises(ValueError, match="no sequence number"):
        structured_json(Event.objects.get())
    sequence_round()
    [event] = events()

    document = json.loads(structured_json(event))

    assert document["specversion"] == "1.0"
    assert (document["id"], document["source"], document["type"]) == (str(event.uuid), "/todo-backend/test",
                                                                      "todo.task.created")  # fmt: skip
    assert (document["subject"], document["sequence"], document["userid"]) == (f"tasks/{task['id']}", "0" * 19 + "1",
                                                                               USER_A)  # fmt: skip
    assert document["data"]["task_data"]["title"] == "Milk"
    assert cloudevent(event).get_time() == event.time


@pytest.mark.django_db(transaction=True)  # as a request runs: no test transaction around it
def test_a_write_pays_at_most_one_statement_for_its_event():
    task = {"id": services.task_create(user_id=USER_A, title="one").id}

    with CaptureQueriesContext(connection) as toggle:
        services.task_toggle(user_id=USER_A, task_id=task["id"])
    with CaptureQueriesContext(connection) as create_one:
        services.task_create(user_id=USER_A, title="another")

    # The UPDATE … RETURNING, and the event's INSERT (on PostgreSQL in the UPDATE's own statement); no lock
    # and no number for it (the worker numbers it).
    assert len(statements(toggle)) == 1 + event_statements(in_statement=True)
    if connection.vendor == "postgresql":
        assert not any(sql.startswith(TRANSACTION_CONTROL) for sql in (q["sql"] for q in toggle.captured_queries))
    assert len(statements(create_one)) == 2 + event_statements(in_statement=True)  # the COUNT, the INSERT, the event
    assert [event.type for event in events()] == ["todo.task.created", "todo.task.completed", "todo.task.created"]


@pytest.mark.skipif("connection.vendor != 'postgresql'")  # SQLite has one writer at a time anyway
@pytest.mark.django_db(transaction=True)
def test_concurrent_writes_of_one_user_number_their_events_without_gaps_or_repeats():
    task_ids = [services.task_create(user_id=USER_A, title=f"t{n}").id for n in range(4)]

    def toggle_often(task_id):
        for _ in range(5):
            services.task_toggle(user_id=USER_A, task_id=task_id)

    errors = concurrently(*(lambda task_id=task_id: toggle_often(task_id) for task_id in task_ids))

    assert errors == []
    assert sequence_round() == 4 + 4 * 5
    assert [event.sequence for event in events()] == list(range(1, 4 + 4 * 5 + 1))
    toggles = [e.data["task_data"]["completed"] for e in events() if e.subject == f"tasks/{task_ids[0]}"][1:]
    assert toggles == [True, False, True, False, True]  # a task's events numbered in the order of its changes


@pytest.mark.skipif("connection.vendor != 'postgresql'")  # one worker at a time on SQLite
@pytest.mark.django_db(transaction=True)
def test_two_sequencers_never_give_a_number_twice():
    for n in range(300):
        services.task_create(user_id=f"user-{n % 3}", title=f"t{n}")

    def number():
        while sequence_round():
            pass

    errors = concurrently(number, number)

    assert errors == []
    for user_id in ("user-0", "user-1", "user-2"):
        assert sorted(e.sequence for e in events(user_id)) == list(range(1, 101))
        assert EventSequence.objects.get(user_id=user_id).last == 100


def test_the_admin_shows_the_outbox_read_only(admin_client, api_a):
    task = create(api_a, title="Milk")
    events()  # numbered by the worker (a provisional event shows as todo.task.written until then)

    page = admin_client.get("/admin/events/event/", {"q": f"tasks/{task['id']}"})

    assert page.status_code == 200
    assert b"todo.task.created" in page.content
    event = Event.objects.get()
    assert admin_client.get(f"/admin/events/event/{event.pk}/change/").status_code == 200  # a view, no form
    assert admin_client.post(f"/admin/events/event/{event.pk}/delete/", {"post": "yes"}).status_code == 403


def test_a_tag_renamed_in_the_admin_goes_through_the_service(admin_client, api_a):
    task = create(api_a, tags=["work"])
    tag = Tag.objects.get(user_id=USER_A, name="work")

    response = admin_client.post(f"/admin/tasks/tag/{tag.pk}/change/", {"name": "office"})

    assert response.status_code == 302
    assert api_a.get(f"{TASKS}/{task['id']}").json()["tags"] == ["office"]
    assert [kind for kind, _ in types()[-2:]] == ["todo.tag.renamed", "todo.task.updated"]


def test_a_subtask_restored_under_a_parent_that_moved_has_the_event_of_where_it_went(api_a):
    work = api_a.post(f"{API}/lists", {"name": "Work"}, format="json").json()["id"]
    trip = create(api_a, title="Trip")
    flights = create(api_a, title="Flights", parent_id=trip["id"])
    api_a.delete(f"{TASKS}/{flights['id']}")
    api_a.patch(f"{TASKS}/{trip['id']}", {"list_id": work}, format="json")
    Event.objects.all().delete()

    assert api_a.post(f"{TASKS}/{flights['id']}/restore").status_code == 200

    got = events()
    assert [(event.type, event.subject) for event in got] == [
        ("todo.task.restored", f"tasks/{flights['id']}"),
        ("todo.task.updated", f"tasks/{flights['id']}"),
    ]
    assert got[-1].data["task_data"]["list_id"] == work
    assert got[-1].data["task_data"] == api_a.get(f"{TASKS}/{flights['id']}").json()
