"""Lists and subtasks through export and import: a list travels by name, a parent by the file's own ids, and
a file whose tree cannot be built is refused whole."""

import csv
import io
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from icalendar import Calendar

from tasks.models import Task, TaskList
from tests.conftest import USER_A, USER_B

pytestmark = pytest.mark.django_db
TASKS = "/api/user-a/tasks"
IMPORT_B = "/api/user-b/tasks/import"


def add(api, title, **extra):
    response = api.post(TASKS, {"title": title, **extra}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def new_list(api, name):
    response = api.post("/api/user-a/lists", {"name": name}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def export(api, fmt, **params):
    response = api.get(f"{TASKS}/export", {"format": fmt, **params})
    assert response.status_code == 200
    return b"".join(response.streaming_content)


def structure(user_id):
    """Each live task of the user as (title, its list's name or None for the Inbox, its parent's title)."""
    tasks = Task.objects.filter(user_id=user_id, deleted_at=None).select_related("list", "parent")
    return sorted((t.title, t.list.name if t.list else None, t.parent.title if t.parent else None) for t in tasks)


@pytest.fixture
def family(api_a):
    """Two lists and the Inbox; in Work a three-level subtree (created parents first, so the export's
    newest-first order puts every subtask before its parent)."""
    work, home = new_list(api_a, "Work"), new_list(api_a, "@Home")  # a name a spreadsheet would run
    trip = add(api_a, "trip", list_id=work)
    flights = add(api_a, "flights", parent_id=trip)
    add(api_a, "passport", parent_id=flights, completed=True)
    add(api_a, "hotel", parent_id=trip)
    add(api_a, "paint", list_id=home, tags=["diy"])
    loose = add(api_a, "loose ends")
    add(api_a, "call back", parent_id=loose)
    return structure(USER_A)


@pytest.mark.parametrize(("fmt", "content_type"), [("json", "application/json"), ("csv", "text/csv")])
def test_a_round_trip_gives_another_user_the_same_lists_and_subtrees(api_a, client_for, family, fmt, content_type):
    body = export(api_a, fmt)

    imported = client_for(USER_B).generic("POST", IMPORT_B, body, content_type=content_type)

    assert imported.status_code == 201, imported.content
    assert imported.json()["imported"] == len(family) == 7
    assert structure(USER_B) == family
    assert ("passport", "Work", "flights") in family
    names = set(TaskList.objects.filter(user_id=USER_B, inbox=False).values_list("name", flat=True))
    assert names == {"Work", "@Home"}
    ids = imported.json()["ids"]  # in the file's order, children (newest) before their parents
    assert Task.objects.get(pk=ids[0]).title == "call back"


def test_the_csv_names_the_list_spreadsheet_safe_and_the_parent_by_its_row_id(api_a, family):
    rows = list(csv.DictReader(io.StringIO(export(api_a, "csv").decode())))

    by_title = {row["title"]: row for row in rows}
    assert by_title["paint"]["list"] == "'@Home"
    assert by_title["loose ends"]["list"] == ""  # the Inbox
    assert by_title["passport"]["parent_id"] == by_title["flights"]["id"]
    assert by_title["trip"]["parent_id"] == ""
    assert "list_id" not in rows[0]


def test_the_json_export_names_the_list_next_to_the_api_fields(api_a, family):
    rows = {row["title"]: row for row in json.loads(export(api_a, "json"))}

    assert rows["hotel"]["list"] == "Work"
    assert rows["hotel"]["parent_id"] == rows["trip"]["id"]
    assert rows["loose ends"]["list"] is None


def test_the_ics_relates_a_subtask_to_its_parents_uid_and_names_the_list(api_a, family):
    todos = {str(todo["SUMMARY"]): todo for todo in Calendar.from_ical(export(api_a, "ics")).walk("VTODO")}

    related = todos["passport"]["RELATED-TO"]
    assert str(related) == str(todos["flights"]["UID"])
    assert related.params["RELTYPE"] == "PARENT"
    assert "RELATED-TO" not in todos["trip"]
    assert str(todos["passport"]["X-TODO-LIST"]) == "Work"
    assert str(todos["paint"]["X-TODO-LIST"]) == "@Home"
    assert "X-TODO-LIST" not in todos["loose ends"]  # the Inbox
    assert todos["paint"]["CATEGORIES"].cats == ["diy"]  # the tags stay in CATEGORIES


def test_a_filtered_export_puts_a_subtask_whose_parent_it_leaves_out_at_the_top(api_a, client_for, family):
    body = export(api_a, "json", completed="true")

    imported = client_for(USER_B).generic("POST", IMPORT_B, body, content_type="application/json")

    assert [row["parent_id"] for row in json.loads(body)] == [None]
    assert imported.status_code == 201, imported.content
    assert structure(USER_B) == [("passport", "Work", None)]


def test_a_list_is_found_by_its_name_case_insensitively_and_made_once(client_for):
    api_b = client_for(USER_B)
    work = api_b.post("/api/user-b/lists", {"name": "Work"}, format="json").json()["id"]
    rows = [{"title": "a", "list": "work"}, {"title": "b", "list": " WORK "}, {"title": "c", "list": "Errands"},
            {"title": "d", "list": "errands"}, {"title": "e", "list": "INBOX"}, {"title": "f", "list": ""},
            {"title": "g", "list": None}]  # fmt: skip

    imported = api_b.post(IMPORT_B, rows, format="json")

    assert imported.status_code == 201, imported.content
    errands = TaskList.objects.get(user_id=USER_B, name="Errands").id
    lists = [Task.objects.get(pk=pk).list_id for pk in imported.json()["ids"]]
    assert lists == [work, work, errands, errands, None, None, None]
    assert TaskList.objects.filter(user_id=USER_B).count() == 3  # the Inbox, Work, Errands


def test_a_subtask_without_a_list_follows_its_parent(client_for):
    rows = [{"id": 2, "title": "sub", "parent_id": 1}, {"id": 1, "title": "top", "list": "Work"},
            {"id": 3, "title": "subsub", "parent_id": 2, "list": "Inbox"}]  # fmt: skip

    imported = client_for(USER_B).post(IMPORT_B, rows, format="json")

    assert imported.status_code == 201, imported.content
    assert structure(USER_B) == [("sub", "Work", "top"), ("subsub", "Work", "sub"), ("top", "Work", None)]
    assert [Task.objects.get(pk=pk).title for pk in imported.json()["ids"]] == ["sub", "top", "subsub"]


CYCLE = "A task cannot be a subtask of itself or of its own subtasks."
DEEP = "Subtasks nest at most 3 levels deep."


@pytest.mark.parametrize(
    ("rows", "errors"),
    [
        ([{"id": 1, "title": "a"}, {"id": 2, "title": "b", "parent_id": 7}],
         {"1": {"parent_id": ["No row of the file has id 7."]}}),
        ([{"id": 1, "title": "a"}, {"id": 1, "title": "b"}, {"title": "c", "parent_id": 1}],
         {"2": {"parent_id": ["Several rows of the file have id 1."]}}),
        ([{"id": 1, "title": "a", "parent_id": 1}], {"0": {"parent_id": [CYCLE]}}),
        ([{"id": 1, "title": "a", "parent_id": 3}, {"id": 2, "title": "b", "parent_id": 1},
          {"id": 3, "title": "c", "parent_id": 2}, {"id": 4, "title": "below", "parent_id": 3}],
         {"0": {"parent_id": [CYCLE]}, "1": {"parent_id": [CYCLE]}, "2": {"parent_id": [CYCLE]}}),
        ([{"id": 4, "title": "d", "parent_id": 3}, {"id": 1, "title": "a"}, {"id": 2, "title": "b", "parent_id": 1},
          {"id": 3, "title": "c", "parent_id": 2}, {"id": 5, "title": "e", "parent_id": 4}],
         {"0": {"parent_id": [DEEP]}, "4": {"parent_id": [DEEP]}}),
        ([{"id": 1, "title": "a", "list": "Work"}, {"title": "b", "parent_id": 1, "list": "Home"}],
         {"1": {"list": ["A subtask is in its parent's list."]}}),
        ([{"title": "a", "list": "Work"}, {"title": "b", "list": "x" * 101}],
         {"1": {"list": ["Ensure this field has no more than 100 characters."]}}),
        ([{"id": 1, "title": "a", "list": "Work"}, {"id": 2, "title": "b", "parent_id": 1},
          {"title": "c", "parent_id": 2, "recurrence": "FREQ=DAILY"}],
         {"2": {"recurrence": ["A repeating task needs a due_at to repeat from."]}}),
    ],
    ids=["parent-not-in-file", "parent-id-ambiguous", "own-parent", "cycle", "too-deep", "another-list",
         "bad-list-name", "invalid-row-after-lists"],
)  # fmt: skip
def test_a_file_whose_tree_or_lists_cannot_be_built_is_a_400_naming_the_rows_and_writes_nothing(
    client_for, rows, errors
):
    response = client_for(USER_B).post(IMPORT_B, rows, format="json")

    assert response.status_code == 400
    assert response.json() == {"tasks": errors}
    assert not Task.objects.filter(user_id=USER_B).exists()
    assert not TaskList.objects.filter(user_id=USER_B).exists()  # the lists it made went back with it


def test_a_subtask_past_max_subtasks_is_refused(client_for, monkeypatch):
    monkeypatch.setattr("tasks.services.subtasks.MAX_SUBTASKS", 2)
    rows = [{"id": 1, "title": "top"}] + [{"title": f"sub {n}", "parent_id": 1} for n in range(3)]

    response = client_for(USER_B).post(IMPORT_B, rows, format="json")

    assert response.status_code == 400
    assert response.json() == {"tasks": {"3": {"parent_id": ["At most 2 subtasks per task."]}}}
    assert not Task.objects.filter(user_id=USER_B).exists()


def test_lists_past_max_lists_per_user_are_refused_on_their_rows(client_for, monkeypatch):
    monkeypatch.setattr("tasks.services.lists.MAX_LISTS_PER_USER", 2)  # the Inbox and one more
    rows = [{"title": "a", "list": "One"}, {"title": "b", "list": "Two"}, {"title": "c", "list": "two"}]

    response = client_for(USER_B).post(IMPORT_B, rows, format="json")

    assert response.status_code == 400
    refused = {"list": ["At most 2 lists per user."]}
    assert response.json() == {"tasks": {"1": refused, "2": refused}}
    assert not TaskList.objects.filter(user_id=USER_B).exists()


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (json.dumps([{"id": 5, "title": "old", "list_id": 123, "parent_id": None, "position": 2}]), "application/json"),
        ("id,title,description,completed,priority,tags,due_at,recurrence,completed_at,position,created_at,updated_at\r\n"
         "5,old,,false,none,,,,,2,2026-01-01T00:00:00Z,2026-01-01T00:00:00Z\r\n", "text/csv"),
        ("title,position\r\nold,2\r\n", "text/csv"),
    ],
    ids=["json-with-a-foreign-list-id", "csv-without-list-or-parent", "plain-csv"],
)  # fmt: skip
def test_rows_of_an_older_export_import_as_before_into_the_inbox(client_for, body, content_type):
    response = client_for(USER_B).generic("POST", IMPORT_B, body.encode(), content_type=content_type)

    assert response.status_code == 201, response.content
    assert structure(USER_B) == [("old", None, None)]
    assert Task.objects.get(user_id=USER_B).position == 2


def _file(children: int) -> list[dict]:
    """Two lists, the Inbox, and three levels with `children` tasks on each of the lower two."""
    rows = [{"id": 1, "title": "top", "list": "Work"}, {"id": 2, "title": "other", "list": "Home"},
            {"id": 3, "title": "inbox", "tags": ["x"]}]  # fmt: skip
    rows += [{"id": 10 + n, "title": f"child {n}", "parent_id": 1, "tags": ["y"]} for n in range(children)]
    rows += [{"title": f"grandchild {n}", "parent_id": 10 + n} for n in range(children)]
    return rows


def test_an_import_of_a_tree_takes_the_same_queries_for_any_number_of_rows(client_for):
    def queries(user_id, children):
        with CaptureQueriesContext(connection) as captured:
            response = client_for(user_id).post(f"/api/{user_id}/tasks/import", _file(children), format="json")
        assert response.status_code == 201, response.content
        return len(captured)

    assert queries(USER_A, 3) == queries(USER_B, 30)
