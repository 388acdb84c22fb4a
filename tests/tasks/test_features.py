"""The task features beyond the contract, through the HTTP stack: fields, tags, recurrence, queries,
pagination, sync, trash, ETags, idempotency, bulk, export and import."""

import csv
import io
import json
import threading
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone
from icalendar import Calendar

from tasks import services
from tasks.exceptions import TaskNotFound
from tasks.models import IdempotencyKey, Task, TaskList
from tests.conftest import USER_A, USER_B

pytestmark = pytest.mark.django_db

API = "/api/user-a"
TASKS = f"{API}/tasks"


def when(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def create(api, **body) -> dict:
    response = api.post(TASKS, body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def titles(response) -> list[str]:
    assert response.status_code == 200, response.content
    body = response.json()
    return [task["title"] for task in (body["results"] if isinstance(body, dict) else body)]


# Fields -----------------------------------------------------------------------------------------


def test_a_task_carries_every_new_field_and_sensible_defaults(api_a):
    plain = create(api_a, title="Plain")
    full = create(
        api_a, title="Rent", priority="high", tags=["Bills", "home", "bills"], due_at="2026-12-01T09:00:00+01:00",
        recurrence="rrule:freq=monthly;bymonthday=1", position=3,
    )  # fmt: skip

    assert {k: plain[k] for k in ("priority", "tags", "due_at", "recurrence", "completed_at", "position")} == {
        "priority": "none", "tags": [], "due_at": None, "recurrence": None, "completed_at": None, "position": 0,
    }  # fmt: skip
    assert full["priority"] == "high"
    assert full["tags"] == ["bills", "home"]  # lowercase, once each, sorted
    assert when(full["due_at"]) == datetime(2026, 12, 1, 8, tzinfo=UTC)
    assert full["recurrence"] == "FREQ=MONTHLY;BYMONTHDAY=1"
    assert full["position"] == 3
    assert api_a.get(f"{TASKS}/{full['id']}").json() == full


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"priority": "urgent"}, "priority"),
        ({"priority": 3}, "priority"),
        ({"tags": "errands"}, "tags"),
        ({"tags": ["a,b"]}, "tags"),
        ({"tags": ["   "]}, "tags"),
        ({"tags": [f"t{n}" for n in range(21)]}, "tags"),
        ({"due_at": "2026-12-01T09:00:00"}, "due_at"),
        ({"due_at": "tomorrow"}, "due_at"),
        ({"due_at": 1764579600}, "due_at"),
        ({"recurrence": "FREQ=HOURLY"}, "recurrence"),
        ({"recurrence": "FREQ=DAILY", "due_at": None}, "recurrence"),
        ({"recurrence": "FREQ=DAILY;COUNT=2;UNTIL=20270101", "due_at": "2026-12-01T09:00:00Z"}, "recurrence"),
        ({"position": "3"}, "position"),
        ({"position": 2**31}, "position"),
        ({"completed_at": "2026-01-01T00:00:00Z", "deleted": True, "colour": "red"}, "colour"),
    ],
    ids=lambda value: json.dumps(value)[:40] if isinstance(value, dict) else value,
)
def test_invalid_new_fields_are_400_per_field_and_write_nothing(api_a, body, field):
    response = api_a.post(TASKS, {"title": "t", **body}, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert not Task.objects.exists()


def test_completed_at_records_when_a_task_was_completed(api_a):
    task = create(api_a, title="t")

    done = api_a.patch(f"{TASKS}/{task['id']}/complete").json()
    again = api_a.put(f"{TASKS}/{task['id']}", {"completed": True}, format="json").json()
    reopened = api_a.put(f"{TASKS}/{task['id']}", {"completed": False}, format="json").json()

    assert done["completed_at"] is not None
    assert again["completed_at"] == done["completed_at"]  # completing a completed task keeps the moment
    assert reopened["completed_at"] is None


# Tags -------------------------------------------------------------------------------------------


def test_tags_are_per_user_with_counts_rename_merge_and_delete(api_a, client_for):
    one = create(api_a, title="one", tags=["errands", "home"])
    two = create(api_a, title="two", tags=["errands"])
    gone = create(api_a, title="gone", tags=["errands"])
    api_a.delete(f"{TASKS}/{gone['id']}")
    client_for(USER_B).post("/api/user-b/tasks", {"title": "theirs", "tags": ["secret"]}, format="json")

    assert api_a.get("/api/user-a/tags").json() == [
        {"name": "errands", "task_count": 2},  # the deleted task does not count
        {"name": "home", "task_count": 1},
    ]
    renamed = api_a.patch("/api/user-a/tags/Errands", {"name": "Shopping"}, format="json")
    assert renamed.status_code == 200
    assert renamed.json() == {"name": "shopping"}
    merged = api_a.patch("/api/user-a/tags/home", {"name": "shopping"}, format="json")
    assert merged.json() == {"name": "shopping"}
    assert api_a.get("/api/user-a/tags").json() == [{"name": "shopping", "task_count": 2}]
    assert api_a.get(f"{TASKS}/{one['id']}").json()["tags"] == ["shopping"]
    assert api_a.delete("/api/user-a/tags/shopping").status_code == 204
    assert api_a.get(f"{TASKS}/{two['id']}").json()["tags"] == []
    assert api_a.get("/api/user-a/tags").json() == []
    assert api_a.patch("/api/user-a/tags/secret", {"name": "mine"}, format="json").status_code == 404
    assert api_a.delete("/api/user-a/tags/secret").status_code == 404


def test_renaming_a_tag_shows_in_sync(api_a):
    task = create(api_a, title="t", tags=["old"])

    api_a.patch("/api/user-a/tags/old", {"name": "new"}, format="json")
    changed = api_a.get(TASKS, {"updated_since": task["updated_at"]}).json()

    assert [(item["id"], item["tags"]) for item in changed] == [(task["id"], ["new"])]


def test_setting_tags_replaces_the_list(api_a):
    task = create(api_a, title="t", tags=["a", "b"])

    updated = api_a.patch(f"{TASKS}/{task['id']}", {"tags": ["b", "c"]}, format="json").json()
    untouched = api_a.patch(f"{TASKS}/{task['id']}", {"title": "u"}, format="json").json()

    assert updated["tags"] == ["b", "c"]
    assert untouched["tags"] == ["b", "c"]
    assert when(updated["updated_at"]) > when(task["updated_at"])


# Recurrence -------------------------------------------------------------------------------------


def test_completing_a_repeating_task_moves_it_to_the_next_occurrence(api_a):
    task = create(api_a, title="Standup", due_at="2026-12-01T09:00:00Z", recurrence="FREQ=WEEKLY;BYDAY=TU,TH")

    moved = api_a.patch(f"{TASKS}/{task['id']}/complete").json()
    by_put = api_a.put(f"{TASKS}/{task['id']}", {"completed": True}, format="json").json()

    assert moved["completed"] is False
    assert moved["completed_at"] is not None
    assert when(moved["due_at"]) == datetime(2026, 12, 3, 9, tzinfo=UTC)  # Tuesday → Thursday
    assert when(by_put["due_at"]) == datetime(2026, 12, 8, 9, tzinfo=UTC)


def test_the_last_occurrence_completes_the_task(api_a):
    task = create(api_a, title="Twice", due_at="2026-12-01T09:00:00Z", recurrence="FREQ=DAILY;COUNT=2")

    first = api_a.patch(f"{TASKS}/{task['id']}/complete").json()
    last = api_a.patch(f"{TASKS}/{task['id']}/complete").json()

    assert (first["completed"], first["recurrence"]) == (False, "FREQ=DAILY;COUNT=1")
    assert (last["completed"], when(last["due_at"])) == (True, datetime(2026, 12, 2, 9, tzinfo=UTC))


def test_the_next_occurrence_keeps_the_wall_clock_time_of_the_clients_zone(api_a):
    # 09:00 in Berlin is 08:00 UTC in winter and 07:00 UTC in summer (DST starts 2026-03-29).
    task = create(api_a, title="Run", due_at="2026-03-28T09:00:00+01:00", recurrence="FREQ=DAILY")

    in_berlin = api_a.patch(f"{TASKS}/{task['id']}/complete", HTTP_X_TIMEZONE="Europe/Berlin").json()
    in_utc = api_a.patch(f"{TASKS}/{task['id']}/complete").json()

    assert when(in_berlin["due_at"]) == datetime(2026, 3, 29, 9, tzinfo=ZoneInfo("Europe/Berlin"))
    assert when(in_berlin["due_at"]).hour == 7
    assert when(in_utc["due_at"]) == datetime(2026, 3, 30, 7, tzinfo=UTC)  # plain 24 h later in UTC


def test_an_unknown_time_zone_header_is_a_400(api_a):
    task = create(api_a, title="t")

    response = api_a.patch(f"{TASKS}/{task['id']}/complete", HTTP_X_TIMEZONE="Mars/Olympus")

    assert response.status_code == 400
    assert "X-Timezone" in response.json()


def test_a_repeating_task_keeps_its_rule_valid_on_update(api_a):
    task = create(api_a, title="t", due_at="2026-12-01T09:00:00Z", recurrence="FREQ=DAILY")
    plain = create(api_a, title="p")

    assert api_a.patch(f"{TASKS}/{task['id']}", {"due_at": None}, format="json").status_code == 400
    assert api_a.patch(f"{TASKS}/{plain['id']}", {"recurrence": "FREQ=DAILY"}, format="json").status_code == 400
    both = api_a.patch(f"{TASKS}/{task['id']}", {"due_at": None, "recurrence": None}, format="json")
    assert both.status_code == 200
    assert both.json()["recurrence"] is None


def test_a_rule_that_never_matches_a_date_is_a_400_that_says_so(api_a):
    response = api_a.post(
        TASKS, {"title": "t", "due_at": "2026-12-01T09:00:00Z", "recurrence": "FREQ=MONTHLY;BYMONTHDAY=8;BYDAY=1MO"},
        format="json",
    )  # fmt: skip

    assert response.status_code == 400
    assert response.json()["recurrence"] == ["This rule never matches a date; check BYMONTH, BYMONTHDAY and BYDAY."]


def test_fridays_and_the_first_sunday_repeat_on_both(api_a):
    task = create(api_a, title="t", due_at="2026-12-04T09:00:00Z", recurrence="FREQ=MONTHLY;BYDAY=FR,1SU")

    sunday = api_a.patch(f"{TASKS}/{task['id']}/complete").json()
    friday = api_a.patch(f"{TASKS}/{task['id']}/complete").json()

    assert (sunday["completed"], when(sunday["due_at"])) == (False, datetime(2026, 12, 6, 9, tzinfo=UTC))
    assert (friday["completed"], when(friday["due_at"])) == (False, datetime(2026, 12, 11, 9, tzinfo=UTC))


def test_completing_many_repeating_tasks_at_once_stays_fast(api_a):
    rules = ["FREQ=MONTHLY;BYDAY=FR,1SU", "FREQ=MONTHLY;INTERVAL=2;BYMONTHDAY=22;BYDAY=-1MO"]
    items = [{"title": f"t{n}", "due_at": "2026-12-04T09:00:00Z", "recurrence": rules[n % 2]} for n in range(500)]
    ids = [task["id"] for task in api_a.post(f"{TASKS}/bulk", {"tasks": items}, format="json").json()["results"]]
    # Moved to odd months, each on a day of its own, every other one never comes round again: the 22nd is the last
    # Monday only in a February of 28 days. Each would scan a cycle of 400 years; one scan answers for them all.
    for n, task_id in enumerate(ids[1::2]):
        due = datetime(2026 + n // 6, 1 + n % 6 * 2, 1 + n % 28, 9, tzinfo=UTC)
        Task.objects.filter(pk=task_id).update(due_at=due)

    started = time.perf_counter()
    response = api_a.post(f"{TASKS}/bulk-update", {"ids": ids, "action": "complete"}, format="json")

    assert response.status_code == 200
    assert time.perf_counter() - started < 5  # 22.5 s for the first 250 alone, ~44 ms each
    results = response.json()["results"]
    assert {task["completed"] for task in results[::2]} == {False}
    assert {task["completed"] for task in results[1::2]} == {True}


# Queries ----------------------------------------------------------------------------------------


@pytest.fixture
def mixed(api_a):
    now = timezone.now()
    return {
        "milk": create(api_a, title="Buy milk", priority="high", tags=["errands"],
                       due_at=(now - timedelta(days=1)).isoformat()),
        "bills": create(api_a, title="Pay bills", description="electricity and groceries", priority="medium",
                        tags=["home"], due_at=(now + timedelta(days=2)).isoformat()),
        "book": create(api_a, title="Read a book", priority="low", tags=["fun", "home"]),
        "done": create(api_a, title="Old chore", completed=True, due_at=(now - timedelta(days=3)).isoformat()),
    }  # fmt: skip


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"priority": "high"}, {"Buy milk"}),
        ({"priority": "high,low"}, {"Buy milk", "Read a book"}),
        ({"priority": ["medium", "none"]}, {"Pay bills", "Old chore"}),
        ({"tag": "home"}, {"Pay bills", "Read a book"}),
        ({"tag": "errands,fun"}, {"Buy milk", "Read a book"}),
        ({"tag": "Errands"}, {"Buy milk"}),
        ({"overdue": "true"}, {"Buy milk"}),
        ({"overdue": "false"}, {"Pay bills", "Read a book", "Old chore"}),
        ({"status": "pending"}, {"Buy milk", "Pay bills", "Read a book"}),
        ({"status": "completed"}, {"Old chore"}),
        ({"status": "all"}, {"Buy milk", "Pay bills", "Read a book", "Old chore"}),
        ({"completed": "false", "tag": "home", "priority": "low"}, {"Read a book"}),
        ({"search": "milk"}, {"Buy milk"}),
        ({"search": "GROCERIES"}, {"Pay bills"}),  # the description counts
        ({"search": "pay bills"}, {"Pay bills"}),
        ({"search": "bills -groceries"}, set()),
        ({"search": "read -milk"}, {"Read a book"}),
        ({"search": '"a book"'}, {"Read a book"}),
        ({"search": "nothing-like-this"}, set()),
    ],
    ids=lambda value: json.dumps(value) if isinstance(value, dict) else None,
)
def test_list_filters(api_a, mixed, query, expected):
    assert set(titles(api_a.get(TASKS, query))) == expected


def test_due_range_filters(api_a, mixed):
    now = timezone.now()

    before = titles(api_a.get(TASKS, {"due_before": now.isoformat()}))
    after = titles(api_a.get(TASKS, {"due_after": now.isoformat()}))
    window = titles(
        api_a.get(TASKS, {"due_after": (now - timedelta(days=2)).isoformat(), "due_before": now.isoformat()})
    )

    assert set(before) == {"Buy milk", "Old chore"}
    assert after == ["Pay bills"]
    assert window == ["Buy milk"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, ["Old chore", "Read a book", "Pay bills", "Buy milk"]),
        ({"sort": "created"}, ["Old chore", "Read a book", "Pay bills", "Buy milk"]),
        ({"ordering": "created_at"}, ["Buy milk", "Pay bills", "Read a book", "Old chore"]),
        ({"ordering": "title"}, ["Buy milk", "Old chore", "Pay bills", "Read a book"]),
        ({"sort": "title"}, ["Buy milk", "Old chore", "Pay bills", "Read a book"]),
        ({"ordering": "-title"}, ["Read a book", "Pay bills", "Old chore", "Buy milk"]),
        ({"ordering": "due_at"}, ["Old chore", "Buy milk", "Pay bills", "Read a book"]),  # no due date: last
        ({"sort": "due_date"}, ["Old chore", "Buy milk", "Pay bills", "Read a book"]),
        ({"ordering": "-due_at"}, ["Pay bills", "Buy milk", "Old chore", "Read a book"]),  # still last
        ({"ordering": "-priority,title"}, ["Buy milk", "Pay bills", "Read a book", "Old chore"]),
        ({"ordering": "priority"}, ["Old chore", "Read a book", "Pay bills", "Buy milk"]),
    ],
    ids=lambda value: json.dumps(value) if isinstance(value, dict) else None,
)
def test_list_ordering(api_a, mixed, query, expected):
    assert titles(api_a.get(TASKS, query)) == expected


def test_manual_position_orders_the_list(api_a):
    for title, position in [("c", 3), ("a", 1), ("b", 2)]:
        create(api_a, title=title, position=position)

    assert titles(api_a.get(TASKS, {"ordering": "position"})) == ["a", "b", "c"]


def test_search_ranks_the_best_match_first_on_postgresql(api_a):
    if connection.vendor != "postgresql":
        pytest.skip("ranking is PostgreSQL full-text search; SQLite filters without a rank")
    create(api_a, title="Garden", description="water the plants")
    create(api_a, title="Plants: water the plants", description="plants plants")

    assert titles(api_a.get(TASKS, {"search": "plants"}))[0] == "Plants: water the plants"
    assert titles(api_a.get(TASKS, {"search": "planting"})) != []  # English stemming


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ({"priority": "urgent"}, "priority"),
        ({"completed": "maybe"}, "completed"),
        ({"overdue": "yes"}, "overdue"),
        ({"status": "open"}, "status"),
        ({"sort": "priority"}, "sort"),
        ({"ordering": "owner"}, "ordering"),
        ({"ordering": "-id"}, "ordering"),
        ({"due_before": "soon"}, "due_before"),
        ({"completed": "maybe", "url_user_id": "user-a"}, "completed"),
        ({"limit": "0"}, "limit"),
        ({"limit": "501"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"offset": "-1"}, "offset"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"cursor": "abc", "offset": "3"}, "cursor"),
        ({"updated_since": "yesterday"}, "updated_since"),
        ({"updated_since": "2026-01-01T00:00:00"}, "updated_since"),
        ({"updated_since": "2026-01-01T00:00:00Z", "tag": "x"}, "updated_since"),
        ({"updated_since": "2026-01-01T00:00:00Z", "search": "x", "url_user_id": "user-a"}, "updated_since"),
    ],
    ids=lambda value: json.dumps(value) if isinstance(value, dict) else None,
)
def test_invalid_query_values_are_a_400_naming_the_parameter(api_a, query, param):
    response = api_a.get(TASKS, query)

    assert response.status_code == 400
    assert param in response.json()
    assert "url_user_id" not in response.json()


@pytest.mark.parametrize(
    ("known", "expected"),
    [
        ({}, ["Pending", "Done"]),
        ({"completed": "true"}, ["Done"]),
        ({"ordering": "title", "limit": "10"}, ["Done", "Pending"]),
    ],
    ids=["plain", "filtered", "paginated"],
)
def test_query_parameters_the_list_does_not_know_are_ignored(api_a, known, expected):
    create(api_a, title="Done", completed=True)
    create(api_a, title="Pending")

    with_unknown = api_a.get(TASKS, {**known, "url_user_id": "user-a", "_": "1700000000"})

    assert with_unknown.json() == api_a.get(TASKS, known).json()
    assert titles(with_unknown) == expected


def test_sync_ignores_query_parameters_it_does_not_know(api_a):
    since = (timezone.now() - timedelta(seconds=1)).isoformat()
    task = create(api_a, title="changed")

    response = api_a.get(TASKS, {"updated_since": since, "url_user_id": "user-a"})

    assert response.status_code == 200
    assert [item["id"] for item in response.json()] == [task["id"]]


# Pagination -------------------------------------------------------------------------------------


def _walk(api, query: dict) -> tuple[list[int], list[int]]:
    """Follow `next` links to the end; return the ids in order and the page sizes."""
    response = api.get(TASKS, query)
    ids, sizes = [], []
    while True:
        assert response.status_code == 200, response.content
        page = response.json()
        ids += [task["id"] for task in page["results"]]
        sizes.append(len(page["results"]))
        if not page["next"]:
            return ids, sizes
        response = api.get(page["next"])


@pytest.mark.parametrize(
    "ordering", [None, "created_at", "title", "-due_at", "due_at", "priority", "-priority,-title", "position"]
)
def test_cursor_pages_walk_every_task_once_in_list_order(api_a, ordering):
    now = timezone.now()
    drafts = [
        {"title": f"t{n % 7}", "priority": ["none", "low", "medium", "high"][n % 4], "position": n % 3,
         "due_at": None if n % 5 == 0 else (now + timedelta(hours=n % 6)).isoformat()}
        for n in range(23)
    ]  # fmt: skip
    assert api_a.post(f"{TASKS}/bulk", {"tasks": drafts}, format="json").status_code == 201
    query = {"ordering": ordering} if ordering else {}

    everything = [task["id"] for task in api_a.get(TASKS, query).json()]
    ids, sizes = _walk(api_a, {**query, "limit": 5})

    assert ids == everything
    assert sizes == [5, 5, 5, 5, 3]


def test_offset_pages_and_the_envelope(api_a, task_factory):
    task_factory.create_batch(7)

    first = api_a.get(TASKS, {"limit": 3}).json()
    last = api_a.get(TASKS, {"limit": 3, "offset": 6}).json()
    plain = api_a.get(TASKS).json()

    assert set(first) == {"count", "next", "results"}
    assert first["count"] == 7
    assert [task["id"] for task in last["results"]] == [task["id"] for task in plain][6:]
    assert last["next"] is None
    assert "offset=3" in api_a.get(TASKS, {"limit": 3, "offset": 0}).json()["next"]


def test_a_cursor_from_another_ordering_is_refused(api_a, task_factory):
    task_factory.create_batch(3)
    cursor = api_a.get(TASKS, {"limit": 1}).json()["next"].split("cursor=")[1]

    response = api_a.get(TASKS, {"limit": 1, "ordering": "title", "cursor": cursor})

    assert response.status_code == 400
    assert "cursor" in response.json()


# Sync and trash ---------------------------------------------------------------------------------


def test_sync_returns_changes_and_tombstones_since_a_moment(api_a, client_for):
    kept = create(api_a, title="kept")
    changed = create(api_a, title="changed")
    deleted = create(api_a, title="deleted")
    client_for(USER_B).post("/api/user-b/tasks", {"title": "not mine"}, format="json")
    since = kept["updated_at"]

    api_a.patch(f"{TASKS}/{changed['id']}", {"title": "changed again"}, format="json")
    api_a.delete(f"{TASKS}/{deleted['id']}")
    changes = api_a.get(TASKS, {"updated_since": since}).json()

    assert [item["id"] for item in changes] == [changed["id"], deleted["id"]]  # oldest change first
    by_id = {item["id"]: item for item in changes}
    assert by_id[changed["id"]]["title"] == "changed again"
    assert set(by_id[deleted["id"]]) == {"id", "deleted", "deleted_at"}
    assert by_id[deleted["id"]]["deleted"] is True
    assert deleted["id"] not in [task["id"] for task in api_a.get(TASKS).json()]  # not in plain lists
    empty = api_a.get(TASKS, {"updated_since": by_id[deleted["id"]]["deleted_at"]}).json()
    assert empty == []


def test_sync_pages_with_a_cursor(api_a, task_factory):
    since = (timezone.now() - timedelta(seconds=1)).isoformat()
    task_factory.create_batch(5)

    first = api_a.get(TASKS, {"updated_since": since, "limit": 2}).json()
    ids, _ = _walk(api_a, {"updated_since": since, "limit": 2})

    assert first["count"] == 5
    assert len(ids) == len(set(ids)) == 5


def test_a_deleted_task_can_be_restored_within_the_trash_window(api_a, settings):
    task = create(api_a, title="oops", tags=["kept"])
    api_a.delete(f"{TASKS}/{task['id']}")

    assert api_a.get(f"{TASKS}/{task['id']}").status_code == 404
    assert api_a.delete(f"{TASKS}/{task['id']}").status_code == 404  # already in the trash
    restored = api_a.post(f"{TASKS}/{task['id']}/restore")
    assert restored.status_code == 200
    assert restored.json()["tags"] == ["kept"]
    assert api_a.post(f"{TASKS}/{task['id']}/restore").status_code == 404  # not in the trash any more

    api_a.delete(f"{TASKS}/{task['id']}")
    Task.objects.filter(pk=task["id"]).update(
        deleted_at=timezone.now() - timedelta(days=settings.TASK_TRASH_DAYS, seconds=1)
    )
    assert api_a.post(f"{TASKS}/{task['id']}/restore").status_code == 404


def test_another_users_deleted_task_cannot_be_restored(api_a, client_for):
    theirs = client_for(USER_B).post("/api/user-b/tasks", {"title": "theirs"}, format="json").json()
    client_for(USER_B).delete(f"/api/user-b/tasks/{theirs['id']}")

    assert api_a.post(f"{TASKS}/{theirs['id']}/restore").status_code == 404


def test_purge_deletes_only_old_tombstones_and_expired_keys(api_a):
    old, recent, _live = (create(api_a, title=name) for name in ("old", "recent", "live"))
    for task in (old, recent):
        api_a.delete(f"{TASKS}/{task['id']}")
    Task.objects.filter(pk=old["id"]).update(deleted_at=timezone.now() - timedelta(days=31))
    api_a.post(TASKS, {"title": "keyed"}, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=25))
    out = io.StringIO()

    call_command("purge_tasks", stdout=out)

    assert "Purged 1 task(s) and 0 list(s)" in out.getvalue()
    assert "1 expired idempotency key(s)" in out.getvalue()
    assert set(Task.objects.values_list("title", flat=True)) == {"recent", "live", "keyed"}
    assert not IdempotencyKey.objects.exists()


def test_purge_deletes_old_lists_in_the_trash_with_their_tasks(api_a):
    old, recent, _kept = (
        api_a.post(f"{API}/lists", {"name": name}, format="json").json() for name in ("Old", "New", "Kept")
    )
    for task_list in (old, recent):
        create(api_a, title=f"in {task_list['name']}", list_id=task_list["id"])
        api_a.delete(f"{API}/lists/{task_list['id']}")
    long_ago = timezone.now() - timedelta(days=31)
    TaskList.objects.filter(pk=old["id"]).update(deleted_at=long_ago)
    Task.objects.filter(list_id=old["id"]).update(deleted_at=long_ago)
    out = io.StringIO()

    call_command("purge_tasks", stdout=out)

    assert "Purged 1 task(s) and 1 list(s)" in out.getvalue()
    assert set(TaskList.objects.filter(user_id=USER_A).values_list("name", flat=True)) == {"Inbox", "New", "Kept"}
    assert set(Task.objects.values_list("title", flat=True)) == {"in New"}
    assert api_a.post(f"{API}/lists/{recent['id']}/restore").status_code == 200
    assert [task["title"] for task in api_a.get(TASKS, {"list": recent["id"]}).json()] == ["in New"]


# ETags ------------------------------------------------------------------------------------------


def test_get_answers_an_etag_and_304_when_unchanged(api_a):
    task = create(api_a, title="t")
    first = api_a.get(f"{TASKS}/{task['id']}")

    same = api_a.get(f"{TASKS}/{task['id']}", HTTP_IF_NONE_MATCH=first["ETag"])
    weak = api_a.get(f"{TASKS}/{task['id']}", HTTP_IF_NONE_MATCH=f"W/{first['ETag']}")
    api_a.patch(f"{TASKS}/{task['id']}", {"title": "u"}, format="json")
    changed = api_a.get(f"{TASKS}/{task['id']}", HTTP_IF_NONE_MATCH=first["ETag"])

    assert first["ETag"].startswith('"')
    assert (same.status_code, same.content, same["ETag"]) == (304, b"", first["ETag"])
    assert weak.status_code == 304
    assert changed.status_code == 200
    assert changed["ETag"] != first["ETag"]


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [("put", "", {"title": "x"}), ("patch", "", {"title": "x"}), ("patch", "/complete", None), ("delete", "", None)],
    ids=["put", "patch", "toggle", "delete"],
)
def test_if_match_refuses_a_stale_version_with_412_and_changes_nothing(api_a, method, suffix, body):
    task = create(api_a, title="t")
    stale = api_a.get(f"{TASKS}/{task['id']}")["ETag"]
    api_a.patch(f"{TASKS}/{task['id']}", {"title": "someone else's edit"}, format="json")
    current = api_a.get(f"{TASKS}/{task['id']}")

    refused = getattr(api_a, method)(f"{TASKS}/{task['id']}{suffix}", body, format="json", HTTP_IF_MATCH=stale)
    accepted = getattr(api_a, method)(
        f"{TASKS}/{task['id']}{suffix}", body, format="json", HTTP_IF_MATCH=current["ETag"]
    )

    assert refused.status_code == 412
    assert "detail" in refused.json()
    assert accepted.status_code in {200, 204}


def test_if_match_star_and_a_foreign_task(api_a, client_for):
    task = create(api_a, title="t")
    theirs = client_for(USER_B).post("/api/user-b/tasks", {"title": "theirs"}, format="json").json()

    star = api_a.patch(f"{TASKS}/{task['id']}", {"title": "x"}, format="json", HTTP_IF_MATCH="*")
    foreign = api_a.patch(f"{TASKS}/{theirs['id']}", {"title": "x"}, format="json", HTTP_IF_MATCH='"1"')

    assert star.status_code == 200
    assert foreign.status_code == 404  # never 412: that would tell the task exists


# Idempotency ------------------------------------------------------------------------------------


def test_a_repeated_idempotency_key_replays_the_first_response(api_a, client_for):
    first = api_a.post(TASKS, {"title": "once"}, format="json", HTTP_IDEMPOTENCY_KEY="abc-123")
    again = api_a.post(TASKS, {"title": "once"}, format="json", HTTP_IDEMPOTENCY_KEY="abc-123")
    other_body = api_a.post(TASKS, {"title": "twice?"}, format="json", HTTP_IDEMPOTENCY_KEY="abc-123")
    other_user = client_for(USER_B).post(
        "/api/user-b/tasks", {"title": "once"}, format="json", HTTP_IDEMPOTENCY_KEY="abc-123"
    )

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert again["ETag"] == first["ETag"]
    assert other_body.status_code == 422
    assert other_user.status_code == 201  # keys are per user
    assert Task.objects.filter(user_id=USER_A).count() == 1


def test_an_invalid_request_does_not_use_up_the_key(api_a):
    invalid = api_a.post(TASKS, {"title": ""}, format="json", HTTP_IDEMPOTENCY_KEY="k")
    valid = api_a.post(TASKS, {"title": ""}, format="json", HTTP_IDEMPOTENCY_KEY="k")

    assert (invalid.status_code, valid.status_code) == (400, 400)
    assert not IdempotencyKey.objects.exists()


def test_an_expired_key_creates_again(api_a):
    api_a.post(TASKS, {"title": "t"}, format="json", HTTP_IDEMPOTENCY_KEY="k")
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=25))

    again = api_a.post(TASKS, {"title": "t"}, format="json", HTTP_IDEMPOTENCY_KEY="k")

    assert again.status_code == 201
    assert not again.has_header("Idempotent-Replayed")
    assert Task.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_repeats_of_a_key_create_one_task(make_token):
    if connection.vendor != "postgresql":
        pytest.skip("needs concurrent writers: runs in the PostgreSQL pass")
    threads = 8
    barrier = threading.Barrier(threads)
    statuses, bodies, errors = [], [], []

    def worker() -> None:
        client = Client(HTTP_AUTHORIZATION=f"Bearer {make_token(USER_A)}")
        try:
            barrier.wait()
            response = client.post(TASKS, {"title": "exactly once"}, "application/json", HTTP_IDEMPOTENCY_KEY="race")
            statuses.append(response.status_code)
            bodies.append(response.json())
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
    assert statuses == [201] * threads
    assert len({body["id"] for body in bodies}) == 1
    assert Task.objects.filter(title="exactly once").count() == 1


# Bulk -------------------------------------------------------------------------------------------


def test_bulk_create_is_all_or_nothing_with_errors_by_index(api_a):
    good = api_a.post(f"{TASKS}/bulk", {"tasks": [{"title": "a", "tags": ["x"]}, {"title": "b"}]}, format="json")
    bad = api_a.post(f"{TASKS}/bulk", {"tasks": [{"title": "c"}, {"title": ""}, {"title": "d", "priority": "?"}]},
                     format="json")  # fmt: skip
    too_many = api_a.post(f"{TASKS}/bulk", {"tasks": [{"title": "t"}] * 501}, format="json")
    empty = api_a.post(f"{TASKS}/bulk", {"tasks": []}, format="json")

    assert good.status_code == 201
    assert [(task["title"], task["tags"]) for task in good.json()["results"]] == [("a", ["x"]), ("b", [])]
    assert bad.status_code == 400
    assert set(bad.json()["tasks"]) == {"1", "2"}
    assert "title" in bad.json()["tasks"]["1"]
    assert "priority" in bad.json()["tasks"]["2"]
    assert too_many.status_code == 400
    assert empty.status_code == 400
    assert sorted(Task.objects.values_list("title", flat=True)) == ["a", "b"]


def test_bulk_create_honours_idempotency_keys(api_a):
    body = {"tasks": [{"title": "a"}, {"title": "b"}]}
    first = api_a.post(f"{TASKS}/bulk", body, format="json", HTTP_IDEMPOTENCY_KEY="bulk-1")
    again = api_a.post(f"{TASKS}/bulk", body, format="json", HTTP_IDEMPOTENCY_KEY="bulk-1")

    assert again.json() == first.json()
    assert Task.objects.count() == 2


@pytest.mark.parametrize(
    ("action", "extra", "check"),
    [
        ("complete", {}, lambda t: t["completed"] and t["completed_at"]),
        ("reopen", {}, lambda t: not t["completed"]),
        ("tag", {"tags": ["Urgent"]}, lambda t: "urgent" in t["tags"]),
        ("untag", {"tags": ["start"]}, lambda t: t["tags"] == []),
        ("delete", {}, lambda t: t["deleted"] is True),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_bulk_update_applies_one_action_to_several_tasks(api_a, action, extra, check):
    ids = [create(api_a, title=f"t{n}", tags=["start"], completed=action == "reopen")["id"] for n in range(3)]
    create(api_a, title="untouched", tags=["start"])

    response = api_a.post(f"{TASKS}/bulk-update", {"ids": ids, "action": action, **extra}, format="json")

    assert response.status_code == 200, response.content
    assert [item["id"] for item in response.json()["results"]] == ids
    assert all(check(item) for item in response.json()["results"])
    untouched = [t for t in api_a.get(TASKS).json() if t["title"] == "untouched"]
    assert untouched[0]["tags"] == ["start"]
    assert not untouched[0]["completed"]


def test_bulk_tagging_keeps_every_task_within_the_tags_limit(api_a):
    full = create(api_a, title="full", tags=[f"old{n}" for n in range(15)])
    roomy = create(api_a, title="roomy", tags=["old0"])
    ids = [roomy["id"], full["id"]]

    fits = api_a.post(f"{TASKS}/bulk-update", {"ids": ids, "action": "tag", "tags": ["old0", "new0"]}, format="json")
    over = api_a.post(
        f"{TASKS}/bulk-update", {"ids": ids, "action": "tag", "tags": [f"new{n}" for n in range(1, 6)]}, format="json"
    )

    assert fits.status_code == 200
    assert over.status_code == 400
    assert over.json() == {"ids": {"1": [f"Task {full['id']} would have 21 tags; at most 20 per task."]}}
    assert len(api_a.get(f"{TASKS}/{full['id']}").json()["tags"]) == 16
    assert api_a.get(f"{TASKS}/{roomy['id']}").json()["tags"] == ["new0", "old0"]


def test_bulk_update_restores_and_completes_repeating_tasks_by_their_rule(api_a):
    repeating = create(api_a, title="r", due_at="2026-12-01T09:00:00Z", recurrence="FREQ=DAILY")
    trashed = create(api_a, title="x")
    api_a.delete(f"{TASKS}/{trashed['id']}")

    completed = api_a.post(f"{TASKS}/bulk-update", {"ids": [repeating["id"]], "action": "complete"}, format="json")
    restored = api_a.post(f"{TASKS}/bulk-update", {"ids": [trashed["id"]], "action": "restore"}, format="json")

    assert when(completed.json()["results"][0]["due_at"]) == datetime(2026, 12, 2, 9, tzinfo=UTC)
    assert restored.json()["results"][0]["title"] == "x"


def test_bulk_update_with_an_unknown_or_foreign_id_changes_nothing(api_a, client_for):
    mine = create(api_a, title="mine")
    theirs = client_for(USER_B).post("/api/user-b/tasks", {"title": "theirs"}, format="json").json()

    response = api_a.post(
        f"{TASKS}/bulk-update", {"ids": [mine["id"], theirs["id"], 999999], "action": "complete"}, format="json"
    )

    assert response.status_code == 400
    assert set(response.json()["ids"]) == {"1", "2"}
    assert api_a.get(f"{TASKS}/{mine['id']}").json()["completed"] is False
    assert client_for(USER_B).get(f"/api/user-b/tasks/{theirs['id']}").json()["completed"] is False


# Export and import ------------------------------------------------------------------------------


@pytest.fixture
def exported(api_a):
    create(
        api_a,
        title='Quote "this", please',
        description="line one\nline two ✓",
        priority="high",
        tags=["home", "bills"],
        due_at="2026-12-01T09:00:00Z",
        recurrence="FREQ=MONTHLY;BYMONTHDAY=1",
        position=2,
    )
    create(api_a, title="Done thing", completed=True)
    create(api_a, title="Gone")
    api_a.delete(f"{TASKS}/{Task.objects.get(title='Gone').id}")
    return api_a.get(TASKS, {"ordering": "created_at"}).json()  # fmt: skip


LOSSLESS = ("title", "description", "completed", "priority", "tags", "due_at", "recurrence", "position",
            "completed_at", "created_at")  # fmt: skip


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_export_then_import_round_trips_without_loss(api_a, client_for, exported, fmt):
    response = api_a.get(f"{TASKS}/export", {"format": fmt})
    body = b"".join(response.streaming_content)
    api_b = client_for(USER_B)

    imported = api_b.generic("POST", "/api/user-b/tasks/import", body, content_type=response["Content-Type"])

    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="tasks.{fmt}"'
    assert imported.status_code == 201, imported.content
    assert imported.json()["imported"] == 2
    theirs = api_b.get("/api/user-b/tasks", {"ordering": "created_at"}).json()
    assert [{k: t[k] for k in LOSSLESS} for t in theirs] == [{k: t[k] for k in LOSSLESS} for t in exported]


def test_csv_export_has_a_header_and_a_row_per_live_task(api_a, exported):
    text = b"".join(api_a.get(f"{TASKS}/export", {"format": "csv"}).streaming_content).decode()

    rows = list(csv.DictReader(io.StringIO(text)))

    assert [row["title"] for row in rows] == ["Done thing", 'Quote "this", please']  # the list's order
    assert rows[1]["tags"] == "bills,home"


@pytest.mark.parametrize("flavour", ["safe", "raw"])
def test_the_csv_export_is_spreadsheet_safe_unless_raw_and_both_round_trip(api_a, client_for, flavour):
    titles = ['=HYPERLINK("http://evil")', "+1", "-1", "@SUM(A1)", "'=quoted", "plain"]
    for title in titles:
        create(api_a, title=title, tags=["-dash", "=eq"])
    response = api_a.get(f"{TASKS}/export", {"format": "csv", "csv": flavour, "ordering": "created_at"})
    body = b"".join(response.streaming_content)
    api_b = client_for(USER_B)

    imported = api_b.generic("POST", f"/api/user-b/tasks/import?csv={flavour}", body, content_type="text/csv")

    cells = [(row["title"], row["tags"]) for row in csv.DictReader(io.StringIO(body.decode()))]
    guard = "'" if flavour == "safe" else ""
    assert cells == [(guard + t if t != "plain" else t, guard + "-dash,=eq") for t in titles]
    assert imported.status_code == 201, imported.content
    theirs = api_b.get("/api/user-b/tasks", {"ordering": "created_at"}).json()
    assert [(task["title"], task["tags"]) for task in theirs] == [(title, ["-dash", "=eq"]) for title in titles]


@pytest.mark.parametrize("path", ["export?format=csv&csv=excel", "import?csv=yes"])
def test_an_unknown_csv_flavour_is_a_400(api_a, path):
    response = api_a.generic("GET" if "export" in path else "POST", f"{TASKS}/{path}", "title\nx\n", "text/csv")

    assert response.status_code == 400
    assert "csv" in response.json()


def test_ics_export_is_a_calendar_of_todos(api_a, exported):
    response = api_a.get(f"{TASKS}/export", {"format": "ics"})

    calendar = Calendar.from_ical(b"".join(response.streaming_content))
    todos = list(reversed(calendar.walk("VTODO")))  # oldest first

    assert response["Content-Type"].startswith("text/calendar")
    assert [str(todo["SUMMARY"]) for todo in todos] == ['Quote "this", please', "Done thing"]
    assert todos[0]["PRIORITY"] == 1
    assert todos[0]["RRULE"].to_ical() == b"FREQ=MONTHLY;BYMONTHDAY=1"
    assert todos[0]["DUE"].dt == datetime(2026, 12, 1, 9, tzinfo=UTC)
    assert str(todos[1]["STATUS"]) == "COMPLETED"
    assert "COMPLETED" not in todos[0]  # only a completed task has a completion moment


def test_export_takes_the_list_filters(api_a, exported):
    body = json.loads(b"".join(api_a.get(f"{TASKS}/export", {"completed": "true"}).streaming_content))

    assert [task["title"] for task in body] == ["Done thing"]


def test_export_ignores_query_parameters_it_does_not_know(api_a, exported):
    response = api_a.get(f"{TASKS}/export", {"completed": "true", "url_user_id": "user-a"})

    assert response.status_code == 200
    assert [task["title"] for task in json.loads(b"".join(response.streaming_content))] == ["Done thing"]
    assert api_a.get(f"{TASKS}/export", {"completed": "maybe", "url_user_id": "user-a"}).status_code == 400


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b'[{"title": "ok"}, {"title": ""}]', "application/json", 400),
        (b'{"title": "not a list"}', "application/json", 400),
        (b"[{", "application/json", 400),
        (b"name\nx\n", "text/csv", 400),
        (b"title,completed\nx,perhaps\n", "text/csv", 400),
        (b"<tasks/>", "application/xml", 415),
    ],
    ids=["invalid-item", "not-an-array", "broken-json", "no-title-column", "bad-boolean", "xml"],
)
def test_a_bad_import_is_refused_whole(api_a, body, content_type, status):
    response = api_a.generic("POST", f"{TASKS}/import", body, content_type=content_type)

    assert response.status_code == status
    assert not Task.objects.exists()


def test_an_import_may_exceed_the_usual_body_limit(api_a, settings):
    settings.MAX_REQUEST_BODY_BYTES = 1000
    rows = "title\n" + "".join(f"task number {n}\n" for n in range(200))

    imported = api_a.generic("POST", f"{TASKS}/import", rows.encode(), content_type="text/csv")
    plain = api_a.post(TASKS, {"title": "x" * 150, "description": "y" * 900}, format="json")

    assert imported.status_code == 201
    assert imported.json()["imported"] == 200
    assert plain.status_code == 413


def test_services_reject_a_foreign_task_in_every_new_operation():
    theirs = services.task_create(user_id=USER_B, title="theirs", tags=["x"])

    for attempt in (
        lambda: services.task_update(user_id=USER_A, task_id=theirs.id, tags=["mine"]),
        lambda: services.task_restore(user_id=USER_A, task_id=theirs.id),
        lambda: services.task_update(user_id=USER_A, task_id=theirs.id, if_match=[theirs.updated_at], title="x"),
    ):
        with pytest.raises(TaskNotFound):
            attempt()
    assert Task.objects.get(pk=theirs.id).title == "theirs"
