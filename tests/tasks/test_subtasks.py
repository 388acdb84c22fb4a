"""Subtasks through the real HTTP stack: parents of the same user and list, depth, cycles, moves of a
subtree, completion, deletion and restore of a subtree, ?parent= and ?include=subtasks."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tasks.models import MAX_DEPTH, Task
from tests.conftest import USER_B, event_statements, statements

pytestmark = pytest.mark.django_db
TASKS = "/api/user-a/tasks"
LISTS = "/api/user-a/lists"


def add(api, title, **extra):
    response = api.post(TASKS, {"title": title, **extra}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def new_list(api, name):
    return api.post("/api/user-a/lists", {"name": name}, format="json").json()["id"]


@pytest.fixture
def tree(api_a):
    """trip > (flights > (passport), hotel)"""
    trip = add(api_a, "trip")
    flights = add(api_a, "flights", parent_id=trip["id"], position=1)
    hotel = add(api_a, "hotel", parent_id=trip["id"], position=2)
    passport = add(api_a, "passport", parent_id=flights["id"])
    return {"trip": trip["id"], "flights": flights["id"], "hotel": hotel["id"], "passport": passport["id"]}


def state(task_id):
    task = Task.objects.get(pk=task_id)
    return {"completed": task.completed, "deleted": task.deleted_at is not None, "list_id": task.list_id,
            "parent_id": task.parent_id}  # fmt: skip


def test_a_subtask_takes_its_parents_list(api_a):
    work = new_list(api_a, "Work")
    parent = add(api_a, "parent", list_id=work)
    child = add(api_a, "child", parent_id=parent["id"])
    assert child["parent_id"] == parent["id"]
    assert child["list_id"] == work
    other = new_list(api_a, "Other")
    response = api_a.post(TASKS, {"title": "x", "parent_id": parent["id"], "list_id": other}, format="json")
    assert response.status_code == 400
    assert response.json() == {"list_id": ["A subtask is in its parent's list."]}


def test_a_foreign_missing_or_trashed_parent_is_no_such_task(api_a, client_for):
    theirs = client_for(USER_B).post("/api/user-b/tasks", {"title": "theirs"}, format="json").json()
    gone = add(api_a, "gone")
    api_a.delete(f"{TASKS}/{gone['id']}")
    mine = add(api_a, "mine")
    for parent_id in [theirs["id"], gone["id"], 10**12]:
        for response in [
            api_a.post(TASKS, {"title": "x", "parent_id": parent_id}, format="json"),
            api_a.patch(f"{TASKS}/{mine['id']}", {"parent_id": parent_id}, format="json"),
        ]:
            assert response.status_code == 400
            assert response.json() == {"parent_id": ["No such task."]}
        bulk = api_a.post(f"{TASKS}/bulk", {"tasks": [{"title": "x", "parent_id": parent_id}]}, format="json")
        assert bulk.json() == {"tasks": {"0": {"parent_id": ["No such task."]}}}
    assert state(mine["id"])["parent_id"] is None
    assert Task.objects.filter(title="x").count() == 0


def test_cycles_are_refused(api_a, tree):
    for task, parent in [("trip", "trip"), ("trip", "flights"), ("trip", "passport"), ("flights", "passport")]:
        response = api_a.patch(f"{TASKS}/{tree[task]}", {"parent_id": tree[parent]}, format="json")
        assert response.status_code == 400, (task, parent)
        assert "parent_id" in response.json()
    assert state(tree["trip"])["parent_id"] is None


def test_depth_is_at_most_three_levels(api_a, tree):
    assert MAX_DEPTH == 3
    response = api_a.post(TASKS, {"title": "too deep", "parent_id": tree["passport"]}, format="json")
    assert response.status_code == 400
    assert response.json() == {"parent_id": ["Subtasks nest at most 3 levels deep."]}
    # moving a task with subtasks counts its subtree: flights (2 levels) under hotel would make 4
    response = api_a.patch(f"{TASKS}/{tree['flights']}", {"parent_id": tree["hotel"]}, format="json")
    assert response.status_code == 400
    # a leaf may go under a second-level task
    moved = api_a.patch(f"{TASKS}/{tree['passport']}", {"parent_id": tree["hotel"]}, format="json")
    assert moved.status_code == 200
    assert moved.json()["parent_id"] == tree["hotel"]


def test_moving_a_task_moves_its_subtree_and_a_subtask_moved_alone_leaves_its_parent(api_a, tree):
    work = new_list(api_a, "Work")
    assert api_a.patch(f"{TASKS}/{tree['trip']}", {"list_id": work}, format="json").status_code == 200
    assert {state(task_id)["list_id"] for task_id in tree.values()} == {work}
    home = new_list(api_a, "Home")
    moved = api_a.patch(f"{TASKS}/{tree['flights']}", {"list_id": home}, format="json").json()
    assert moved["parent_id"] is None  # top-level in its new list, with its own subtree
    assert state(tree["passport"]) == {"completed": False, "deleted": False, "list_id": home,
                                       "parent_id": tree["flights"]}  # fmt: skip
    assert state(tree["hotel"])["list_id"] == work


def test_completing_a_parent_completes_its_open_subtasks_and_not_the_other_way(api_a, tree):
    api_a.patch(f"{TASKS}/{tree['passport']}/complete", {"completed": True}, format="json")
    assert state(tree["flights"])["completed"] is False  # a subtask never completes its parent
    assert api_a.patch(f"{TASKS}/{tree['trip']}/complete").json()["completed"] is True
    assert all(state(task_id)["completed"] for task_id in tree.values())
    api_a.patch(f"{TASKS}/{tree['trip']}/complete")  # reopening the parent leaves the subtasks done
    assert state(tree["trip"])["completed"] is False
    assert state(tree["hotel"])["completed"] is True


@pytest.mark.parametrize("how", ["toggle", "set", "put", "bulk"])
def test_every_way_of_completing_takes_the_subtree_along(api_a, tree, how):
    url = f"{TASKS}/{tree['trip']}"
    if how == "toggle":
        api_a.patch(f"{url}/complete")
    elif how == "set":
        api_a.patch(f"{url}/complete", {"completed": True}, format="json")
    elif how == "put":
        api_a.put(url, {"completed": True}, format="json")
    else:
        api_a.post(f"{TASKS}/bulk-update", {"ids": [tree["trip"]], "action": "complete"}, format="json")
    assert [state(task_id)["completed"] for task_id in tree.values()] == [True] * 4


def test_a_repeating_parent_that_moves_on_reopens_its_subtasks(api_a):
    parent = add(api_a, "weekly review", due_at="2030-01-07T09:00:00Z", recurrence="FREQ=WEEKLY")
    step = add(api_a, "inbox zero", parent_id=parent["id"])
    api_a.patch(f"{TASKS}/{step['id']}/complete")
    moved = api_a.patch(f"{TASKS}/{parent['id']}/complete").json()
    assert moved["completed"] is False
    assert moved["due_at"] == "2030-01-14T09:00:00Z"
    assert state(step["id"])["completed"] is False  # ready for next week's round


@pytest.mark.parametrize("how", ["single", "bulk"])
def test_deleting_a_parent_trashes_its_subtree_and_restore_brings_it_back(api_a, tree, how):
    api_a.delete(f"{TASKS}/{tree['hotel']}")  # trashed before, on its own
    if how == "single":
        assert api_a.delete(f"{TASKS}/{tree['trip']}").status_code == 204
    else:
        api_a.post(f"{TASKS}/bulk-update", {"ids": [tree["trip"]], "action": "delete"}, format="json")
    assert all(state(task_id)["deleted"] for task_id in tree.values())
    if how == "single":
        assert api_a.post(f"{TASKS}/{tree['trip']}/restore").status_code == 200
    else:
        api_a.post(f"{TASKS}/bulk-update", {"ids": [tree["trip"]], "action": "restore"}, format="json")
    assert [state(tree[name])["deleted"] for name in ["trip", "flights", "passport", "hotel"]] == [
        False, False, False, True,
    ]  # fmt: skip


def test_a_subtask_restored_on_its_own_under_a_trashed_parent_comes_back_top_level(api_a, tree):
    api_a.delete(f"{TASKS}/{tree['trip']}")
    restored = api_a.post(f"{TASKS}/{tree['passport']}/restore").json()
    assert restored["parent_id"] is None
    assert state(tree["flights"])["deleted"] is True


def test_a_task_without_subtasks_toggles_and_deletes_in_one_statement(api_a, tree):
    leaf = add(api_a, "leaf")
    with CaptureQueriesContext(connection) as toggled:
        api_a.patch(f"{TASKS}/{leaf['id']}/complete")
    with CaptureQueriesContext(connection) as deleted:
        api_a.delete(f"{TASKS}/{leaf['id']}")
    for captured in (toggled, deleted):
        update, *event = statements(captured)
        assert update.startswith(("UPDATE", "WITH written AS (UPDATE"))  # PostgreSQL: the event in it
        assert len(event) == event_statements(in_statement=True)  # and its event


def test_the_parent_filter(api_a, tree):
    def titles(query):
        response = api_a.get(f"{TASKS}?{query}")
        assert response.status_code == 200
        return sorted(task["title"] for task in response.json())

    assert titles(f"parent={tree['trip']}") == ["flights", "hotel"]
    assert titles("parent=none") == ["trip"]
    assert api_a.get(f"{TASKS}?parent=top").status_code == 400
    assert len(api_a.get(TASKS).json()) == 4  # the plain list: every task, subtasks too


def test_a_task_with_its_subtree_in_one_query(api_a, tree):
    with CaptureQueriesContext(connection) as queries:
        response = api_a.get(f"{TASKS}/{tree['trip']}?include=subtasks")
    assert response.status_code == 200
    assert len(queries) == 1
    body = response.json()
    assert body["title"] == "trip"
    assert [child["title"] for child in body["subtasks"]] == ["flights", "hotel"]  # by position
    assert [child["title"] for child in body["subtasks"][0]["subtasks"]] == ["passport"]
    assert body["subtasks"][0]["subtasks"][0]["subtasks"] == []
    assert api_a.get(f"{TASKS}/{tree['trip']}?include=everything").status_code == 400
    assert api_a.get(f"{TASKS}/{10**12}?include=subtasks").status_code == 404
    assert api_a.get(f"{TASKS}/{2**64}?include=subtasks").status_code == 404  # beyond the id column: no such task


def test_subtasks_per_task_are_limited(api_a, monkeypatch):
    monkeypatch.setattr("tasks.services.subtasks.MAX_SUBTASKS", 2)
    parent = add(api_a, "parent")
    add(api_a, "one", parent_id=parent["id"])
    add(api_a, "two", parent_id=parent["id"])
    response = api_a.post(TASKS, {"title": "three", "parent_id": parent["id"]}, format="json")
    assert response.status_code == 400
    assert response.json() == {"parent_id": ["At most 2 subtasks per task."]}


@pytest.mark.parametrize("field", ["parent_id", "list_id"])
def test_a_move_of_an_id_beyond_the_column_is_no_such_task(api_a, field):
    target = (
        add(api_a, "parent")["id"]
        if field == "parent_id"
        else api_a.post(LISTS, {"name": "L"}, format="json").json()["id"]
    )

    response = api_a.patch(f"{TASKS}/{2**63}", {field: target}, format="json")

    assert response.status_code == 404, response.json()


def test_another_users_task_under_mine_is_not_found_whatever_its_subtree(api_a, client_for, tree):
    api_b = client_for(USER_B)
    theirs = api_b.post("/api/user-b/tasks", {"title": "theirs"}, format="json").json()["id"]
    api_b.post("/api/user-b/tasks", {"title": "their step", "parent_id": theirs}, format="json")
    # flights is at the second level: a task with subtasks would be too deep under it, were it user-a's
    answers = [api_a.patch(f"{TASKS}/{task_id}", {"parent_id": tree["flights"]}, format="json")
               for task_id in (theirs, 10**12)]  # fmt: skip
    assert [response.status_code for response in answers] == [404, 404]
    assert answers[0].json() == {"detail": f"Task {theirs} not found."}
    assert Task.objects.get(pk=theirs).parent_id is None


def restore(api, task_id, how):
    if how == "single":
        return api.post(f"{TASKS}/{task_id}/restore")
    return api.post(f"{TASKS}/bulk-update", {"ids": [task_id], "action": "restore"}, format="json")


@pytest.mark.parametrize("how", ["single", "bulk"])
def test_a_subtask_restored_after_its_parent_moved_to_another_list_follows_it(api_a, tree, how):
    work = new_list(api_a, "Work")
    api_a.delete(f"{TASKS}/{tree['flights']}")  # with passport
    api_a.patch(f"{TASKS}/{tree['trip']}", {"list_id": work}, format="json")  # hotel follows; flights is in the trash
    assert restore(api_a, tree["flights"], how).status_code == 200
    assert state(tree["flights"]) == {"completed": False, "deleted": False, "list_id": work, "parent_id": tree["trip"]}
    assert state(tree["passport"])["list_id"] == work


@pytest.mark.parametrize("how", ["single", "bulk"])
def test_a_subtask_restored_without_room_below_its_parent_comes_back_top_level(api_a, tree, how):
    api_a.delete(f"{TASKS}/{tree['flights']}")  # flights > passport: two levels
    assert api_a.patch(f"{TASKS}/{tree['trip']}", {"parent_id": add(api_a, "holidays")["id"]}, format="json")
    assert state(tree["trip"])["parent_id"] is not None  # trip at the second level: no room for two below it
    assert restore(api_a, tree["flights"], how).status_code == 200
    assert state(tree["flights"])["parent_id"] is None
    assert state(tree["passport"]) == {"completed": False, "deleted": False, "list_id": None,
                                       "parent_id": tree["flights"]}  # fmt: skip
