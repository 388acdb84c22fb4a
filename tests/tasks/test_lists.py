"""Lists through the real HTTP stack: the Inbox, CRUD, ownership, list_id on tasks, ?list=, counts,
delete (to the trash with the tasks, or moving them) and restore."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tasks.models import Task, TaskList
from tests.conftest import USER_A, USER_B

pytestmark = pytest.mark.django_db


@pytest.fixture
def api_b(client_for):
    return client_for(USER_B)


def make_list(api, name, **extra):
    response = api.post("/api/user-a/lists" if api.user == USER_A else "/api/user-b/lists",
                        {"name": name, **extra}, format="json")  # fmt: skip
    assert response.status_code == 201, response.json()
    return response.json()


@pytest.fixture(autouse=True)
def _tag_clients(api_a, api_b):
    api_a.user, api_b.user = USER_A, USER_B


def test_every_user_has_an_inbox_made_on_first_need(api_a, api_b):
    first = api_a.get("/api/user-a/lists")
    assert first.status_code == 200
    (inbox,) = first.json()
    assert inbox["name"] == "Inbox"
    assert inbox["inbox"] is True
    assert api_a.get("/api/user-a/lists").json() == [inbox]  # made once
    assert api_b.get("/api/user-b/lists").json()[0]["id"] != inbox["id"]
    assert TaskList.objects.filter(inbox=True).count() == 2


def test_create_a_list_and_read_it_back(api_a):
    made = make_list(api_a, "  Work ", color="#FFAA00", position=3)
    assert made | {"id": 0, "created_at": "", "updated_at": ""} == {
        "id": 0, "name": "Work", "color": "#ffaa00", "position": 3, "archived": False, "inbox": False,
        "open_count": 0, "overdue_count": 0, "created_at": "", "updated_at": "",
    }  # fmt: skip
    assert api_a.get(f"/api/user-a/lists/{made['id']}").json() == made
    names = [item["name"] for item in api_a.get("/api/user-a/lists").json()]
    assert names == ["Inbox", "Work"]  # by position: the Inbox first


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "work"}, "name"),  # taken, case-insensitively
        ({"name": "inbox"}, "name"),
        ({"name": "a\x00b"}, "name"),
        ({"name": 7}, "name"),
        ({"name": "ok", "color": "red"}, "color"),
        ({"name": "ok", "position": "1"}, "position"),
        ({"name": "ok", "archived": "yes"}, "archived"),
        ({"name": "ok", "inbox": True}, "inbox"),  # read-only: ignored (see below)
        ({"name": "ok", "owner": "user-b"}, "owner"),
    ],
)
def test_invalid_lists_are_a_400_naming_the_field_and_nothing_is_written(api_a, body, field):
    make_list(api_a, "Work")
    before = TaskList.objects.count()
    response = api_a.post("/api/user-a/lists", body, format="json")
    if field == "inbox":  # a read-only field sent back is ignored, as for tasks
        assert response.status_code == 201
        assert response.json()["inbox"] is False
        return
    assert response.status_code == 400, response.json()
    assert field in response.json()
    assert TaskList.objects.count() == before


def test_rename_recolour_reorder_archive(api_a):
    work = make_list(api_a, "Work")
    response = api_a.patch(f"/api/user-a/lists/{work['id']}", {"name": "Job", "archived": True, "color": None},
                           format="json")  # fmt: skip
    assert response.status_code == 200
    assert response.json()["name"] == "Job"
    assert response.json()["archived"] is True
    assert api_a.patch(f"/api/user-a/lists/{work['id']}", {"name": "JOB"}, format="json").status_code == 200


def test_the_inbox_keeps_its_name_is_never_archived_and_cannot_be_deleted(api_a):
    (inbox,) = api_a.get("/api/user-a/lists").json()
    url = f"/api/user-a/lists/{inbox['id']}"
    assert api_a.patch(url, {"name": "Mine"}, format="json").status_code == 400
    assert api_a.patch(url, {"archived": True}, format="json").status_code == 400
    assert api_a.patch(url, {"color": "#000000", "name": "Inbox"}, format="json").status_code == 200
    response = api_a.delete(url)
    assert response.status_code == 400
    assert "Inbox" in str(response.json())


def test_someone_elses_list_is_not_found_everywhere(api_a, api_b):
    theirs = make_list(api_b, "Theirs")
    url = f"/api/user-a/lists/{theirs['id']}"
    for response in [api_a.get(url), api_a.patch(url, {"name": "x"}, format="json"), api_a.delete(url),
                     api_a.post(f"{url}/restore")]:  # fmt: skip
        assert response.status_code == 404
        assert response.json() == {"detail": f"List {theirs['id']} not found."}
    assert api_a.get(f"/api/user-b/lists/{theirs['id']}").status_code == 403
    assert TaskList.objects.get(pk=theirs["id"]).name == "Theirs"


def test_a_task_goes_to_a_list_and_the_inbox_by_default(api_a):
    work = make_list(api_a, "Work")
    in_work = api_a.post("/api/user-a/tasks", {"title": "Report", "list_id": work["id"]}, format="json").json()
    in_inbox = api_a.post("/api/user-a/tasks", {"title": "Milk"}, format="json").json()
    assert in_work["list_id"] == work["id"]
    assert in_inbox["list_id"] is None
    (inbox,) = [item for item in api_a.get("/api/user-a/lists").json() if item["inbox"]]
    by_inbox_id = api_a.post("/api/user-a/tasks", {"title": "Eggs", "list_id": inbox["id"]}, format="json").json()
    assert by_inbox_id["list_id"] is None  # the Inbox holds the tasks without a list
    moved = api_a.patch(f"/api/user-a/tasks/{in_inbox['id']}", {"list_id": work["id"]}, format="json").json()
    assert moved["list_id"] == work["id"]
    back = api_a.patch(f"/api/user-a/tasks/{in_inbox['id']}", {"list_id": None}, format="json").json()
    assert back["list_id"] is None
    # the contract's plain list still has every task of every list
    assert {task["title"] for task in api_a.get("/api/user-a/tasks").json()} == {"Report", "Milk", "Eggs"}


@pytest.mark.parametrize("how", ["create", "update", "bulk"])
def test_a_foreign_or_trashed_list_is_no_such_list_and_leaks_nothing(api_a, api_b, how):
    theirs = make_list(api_b, "Theirs")
    gone = make_list(api_a, "Gone")
    assert api_a.delete(f"/api/user-a/lists/{gone['id']}").status_code == 204
    task = api_a.post("/api/user-a/tasks", {"title": "Mine"}, format="json").json()
    for list_id in [theirs["id"], gone["id"], 10**12]:
        if how == "create":
            response = api_a.post("/api/user-a/tasks", {"title": "x", "list_id": list_id}, format="json")
            expected = {"list_id": ["No such list."]}
        elif how == "update":
            response = api_a.patch(f"/api/user-a/tasks/{task['id']}", {"list_id": list_id}, format="json")
            expected = {"list_id": ["No such list."]}
        else:
            body = {"tasks": [{"title": "ok"}, {"title": "x", "list_id": list_id}]}
            response = api_a.post("/api/user-a/tasks/bulk", body, format="json")
            expected = {"tasks": {"1": {"list_id": ["No such list."]}}}
        assert response.status_code == 400
        assert response.json() == expected  # the same answer for someone else's list and none
    assert Task.objects.filter(user_id=USER_A).count() == 1
    assert Task.objects.get(pk=task["id"]).list_id is None


@pytest.mark.parametrize("value", ["0", "-1", "x", "1.5", "\u0661"])  # the last: an Arabic-Indic digit
def test_a_bad_list_filter_is_a_400(api_a, value):
    response = api_a.get(f"/api/user-a/tasks?list={value}")
    assert response.status_code == 400
    assert "list" in response.json()


def test_the_list_filter_by_id_inbox_id_and_inbox(api_a, api_b):
    work = make_list(api_a, "Work")
    for title, list_id in [("w1", work["id"]), ("w2", work["id"]), ("i1", None)]:
        api_a.post("/api/user-a/tasks", {"title": title, "list_id": list_id}, format="json")
    api_b.post("/api/user-b/tasks", {"title": "theirs"}, format="json")
    inbox_id = next(item["id"] for item in api_a.get("/api/user-a/lists").json() if item["inbox"])
    theirs_inbox = api_b.get("/api/user-b/lists").json()[0]["id"]

    def titles(query):
        response = api_a.get(f"/api/user-a/tasks?{query}")
        assert response.status_code == 200
        return sorted(task["title"] for task in response.json())

    assert titles(f"list={work['id']}") == ["w1", "w2"]
    assert titles(f"list={inbox_id}") == ["i1"]
    assert titles("list=inbox") == ["i1"]
    assert titles(f"list={theirs_inbox}") == []  # someone else's Inbox: nothing, of theirs or mine
    assert titles(f"list={work['id']}&completed=false&ordering=title") == ["w1", "w2"]
    with CaptureQueriesContext(connection) as queries:
        titles(f"list={inbox_id}")
    assert len(queries) == 1


def test_counts_per_list_in_one_query(api_a):
    work = make_list(api_a, "Work")
    past, future = datetime.now(UTC) - timedelta(days=1), datetime.now(UTC) + timedelta(days=1)
    for list_id, due, done in [(work["id"], past, False), (work["id"], future, False), (work["id"], past, True),
                               (None, past, False)]:  # fmt: skip
        api_a.post("/api/user-a/tasks", {"title": "t", "list_id": list_id, "due_at": due.isoformat(),
                                         "completed": done}, format="json")  # fmt: skip
    api_a.get("/api/user-a/lists")  # the Inbox exists from here on
    with CaptureQueriesContext(connection) as queries:
        response = api_a.get("/api/user-a/lists")
    counts = {item["name"]: (item["open_count"], item["overdue_count"]) for item in response.json()}
    assert counts == {"Inbox": (1, 1), "Work": (2, 1)}
    selects = [q["sql"] for q in queries if q["sql"].startswith("SELECT")]
    assert len(selects) == 2  # the lists, and the counts of all of them


def test_deleting_a_list_trashes_its_tasks_and_restore_brings_them_back_together(api_a):
    work = make_list(api_a, "Work")
    ids = [api_a.post("/api/user-a/tasks", {"title": f"t{n}", "list_id": work["id"]}, format="json").json()["id"]
           for n in range(3)]  # fmt: skip
    api_a.delete(f"/api/user-a/tasks/{ids[0]}")  # trashed before, on its own: stays in the trash
    assert api_a.delete(f"/api/user-a/lists/{work['id']}").status_code == 204
    assert api_a.get(f"/api/user-a/lists/{work['id']}").status_code == 404
    assert api_a.get("/api/user-a/tasks").json() == []
    assert [item["name"] for item in api_a.get("/api/user-a/lists").json()] == ["Inbox"]
    work_again = make_list(api_a, "Work")  # the name is free while the old one is in the trash
    restore = api_a.post(f"/api/user-a/lists/{work['id']}/restore")
    assert restore.status_code == 400  # ... so it cannot come back under it
    api_a.delete(f"/api/user-a/lists/{work_again['id']}")
    restored = api_a.post(f"/api/user-a/lists/{work['id']}/restore")
    assert restored.status_code == 200
    assert restored.json()["open_count"] == 2
    assert sorted(task["id"] for task in api_a.get(f"/api/user-a/tasks?list={work['id']}").json()) == ids[1:]


def test_deleting_a_list_can_move_its_tasks_first(api_a):
    work, home = make_list(api_a, "Work"), make_list(api_a, "Home")
    task = api_a.post("/api/user-a/tasks", {"title": "t", "list_id": work["id"]}, format="json").json()
    assert api_a.delete(f"/api/user-a/lists/{work['id']}?move_tasks_to={work['id']}").status_code == 400
    assert api_a.delete(f"/api/user-a/lists/{work['id']}?move_tasks_to=abc").status_code == 400
    assert api_a.delete(f"/api/user-a/lists/{work['id']}?move_tasks_to={home['id']}").status_code == 204
    assert api_a.get(f"/api/user-a/tasks/{task['id']}").json()["list_id"] == home["id"]
    inbox_id = next(item["id"] for item in api_a.get("/api/user-a/lists").json() if item["inbox"])
    assert api_a.delete(f"/api/user-a/lists/{home['id']}?move_tasks_to={inbox_id}").status_code == 204
    assert api_a.get(f"/api/user-a/tasks/{task['id']}").json()["list_id"] is None


def test_a_task_restored_on_its_own_from_a_trashed_list_comes_back_to_the_inbox(api_a):
    work = make_list(api_a, "Work")
    task = api_a.post("/api/user-a/tasks", {"title": "t", "list_id": work["id"]}, format="json").json()
    api_a.delete(f"/api/user-a/lists/{work['id']}")
    restored = api_a.post(f"/api/user-a/tasks/{task['id']}/restore")
    assert restored.status_code == 200
    assert restored.json()["list_id"] is None


def test_the_lists_per_user_limit_is_a_400(api_a, monkeypatch):
    monkeypatch.setattr("tasks.services.lists.MAX_LISTS_PER_USER", 3)
    make_list(api_a, "One")
    make_list(api_a, "Two")  # with the Inbox: three
    response = api_a.post("/api/user-a/lists", {"name": "Three"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"name": ["At most 3 lists per user."]}


def test_lists_sync_with_tombstones(api_a):
    work, home = make_list(api_a, "Work"), make_list(api_a, "Home")
    since = api_a.get(f"/api/user-a/lists/{home['id']}").json()["updated_at"]
    api_a.patch(f"/api/user-a/lists/{work['id']}", {"name": "Job"}, format="json")
    api_a.delete(f"/api/user-a/lists/{home['id']}")

    response = api_a.get("/api/user-a/lists", {"updated_since": since})

    assert response.status_code == 200
    changes = response.json()
    assert [change["id"] for change in changes] == [work["id"], home["id"]]  # oldest change first
    assert changes[0]["name"] == "Job"
    assert changes[1] == {"id": home["id"], "deleted": True, "deleted_at": changes[1]["deleted_at"]}
    assert api_a.get("/api/user-a/lists", {"updated_since": "yesterday"}).status_code == 400
