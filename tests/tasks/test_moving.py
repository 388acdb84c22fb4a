"""POST …/tasks/<id>/move: a task just before or after another, one row written while there is room."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tasks.models import Task
from tasks.services import moving
from tests.conftest import USER_B

pytestmark = pytest.mark.django_db
TASKS = "/api/user-a/tasks"


def add(api, title, **extra):
    response = api.post(TASKS, {"title": title, **extra}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def move(api, task_id, **body):
    return api.post(f"{TASKS}/{task_id}/move", body, format="json")


def order(api, **params):
    """Titles of a level in the API's own position order."""
    response = api.get(TASKS, {"ordering": "position", **params})
    assert response.status_code == 200, response.json()
    return [task["title"] for task in response.json()]


def test_moves_reorder_a_level(api_a):
    ids = {title: add(api_a, title) for title in "abcd"}  # every position 0: the id orders them
    assert order(api_a) == ["a", "b", "c", "d"]

    response = move(api_a, ids["d"], after=ids["a"])
    assert response.status_code == 200, response.json()
    assert order(api_a) == ["a", "d", "b", "c"]
    assert response.json()["position"] == Task.objects.get(pk=ids["d"]).position
    assert response["ETag"]

    assert move(api_a, ids["a"], before=ids["c"]).status_code == 200
    assert order(api_a) == ["d", "b", "a", "c"]
    assert move(api_a, ids["d"], after=ids["c"]).status_code == 200
    assert order(api_a) == ["b", "a", "c", "d"]
    assert move(api_a, ids["c"], before=ids["b"]).status_code == 200
    assert order(api_a) == ["c", "b", "a", "d"]


def test_a_move_with_room_writes_only_the_task(api_a):
    ids = [add(api_a, title, position=position) for title, position in [("a", 0), ("b", 1024), ("c", 2048)]]
    before = {task.id: task.updated_at for task in Task.objects.all()}

    with CaptureQueriesContext(connection) as queries:
        assert move(api_a, ids[2], after=ids[0]).status_code == 200
    # (before another request resets the log; on PostgreSQL the UPDATE carries its event in a WITH)
    writes = [q["sql"] for q in queries if q["sql"].startswith(("UPDATE", "WITH written AS (UPDATE"))]

    assert len(writes) == 1, writes
    assert Task.objects.get(pk=ids[2]).position == 512
    assert order(api_a) == ["a", "c", "b"]
    assert {task.id for task in Task.objects.all() if task.updated_at != before[task.id]} == {ids[2]}


def test_no_room_left_spreads_the_level_and_sync_sees_it(api_a):
    ids = [add(api_a, title, position=position) for title, position in [("a", 5), ("b", 6), ("c", 7)]]
    since = api_a.get(TASKS).json()[0]["updated_at"]

    assert move(api_a, ids[2], after=ids[0]).status_code == 200

    assert order(api_a) == ["a", "c", "b"]
    positions = sorted(Task.objects.values_list("position", flat=True))
    assert positions == [0, moving.GAP, 2 * moving.GAP]
    changed = api_a.get(TASKS, {"updated_since": since}).json()
    assert {task["title"] for task in changed} >= {"b", "c"}  # renumbered rows carry a new updated_at


def test_halving_until_no_room_then_spreading_keeps_the_order(api_a):
    first = add(api_a, "first")
    last = add(api_a, "last")
    assert move(api_a, last, after=first).status_code == 200
    titles = ["first", "last"]
    for n in range(14):  # more halvings than GAP leaves room for: at least one spread happens
        task = add(api_a, f"n{n}")
        assert move(api_a, task, after=first).status_code == 200
        titles.insert(1, f"n{n}")
        assert order(api_a) == titles


def test_a_move_next_to_a_task_elsewhere_takes_its_list_and_parent(api_a):
    home = api_a.post("/api/user-a/lists", {"name": "Home"}, format="json").json()["id"]
    parent = add(api_a, "parent", list_id=home)
    child = add(api_a, "child", parent_id=parent)
    task = add(api_a, "task")
    grandchild = add(api_a, "grandchild", parent_id=task)

    assert move(api_a, task, before=child).status_code == 200

    moved = Task.objects.get(pk=task)
    assert (moved.list_id, moved.parent_id) == (home, parent)
    assert Task.objects.get(pk=grandchild).list_id == home  # the subtree follows
    assert order(api_a, parent=parent) == ["task", "child"]

    assert move(api_a, task, after=parent).status_code == 200  # out again: top level of Home
    assert Task.objects.get(pk=task).parent_id is None
    assert order(api_a, list=home, parent="none") == ["parent", "task"]


def test_a_move_that_breaks_the_subtask_rules_is_refused_and_changes_nothing(api_a):
    top = add(api_a, "top")
    middle = add(api_a, "middle", parent_id=top)
    bottom = add(api_a, "bottom", parent_id=middle)  # the third level: MAX_DEPTH
    before = list(Task.objects.order_by("id").values_list("id", "position", "parent_id", "updated_at"))

    cycle = move(api_a, top, after=bottom)  # under its own descendant
    assert cycle.status_code == 400
    assert list(cycle.json()) == ["parent_id"]
    deep = add(api_a, "deep")
    add(api_a, "deeper", parent_id=deep)
    assert move(api_a, deep, after=bottom).status_code == 400  # deeper would be a fourth level
    assert list(Task.objects.exclude(title__startswith="deep").order_by("id").values_list(
        "id", "position", "parent_id", "updated_at")) == before  # fmt: skip


@pytest.mark.parametrize(
    "body",
    [{}, {"before": 1, "after": 2}, {"after": "1"}, {"after": 0}, {"after": 2**63}, {"after": None}, {"to": 1}],
    ids=["none", "both", "string", "zero", "huge", "null", "unknown"],
)
def test_bad_bodies_are_400(api_a, body):
    task = add(api_a, "t")
    response = move(api_a, task, **body)
    assert response.status_code == 400, response.json()


def test_next_to_itself_is_400(api_a):
    task = add(api_a, "t")
    assert move(api_a, task, after=task).status_code == 400


def test_foreign_missing_or_trashed_anchors_and_tasks_leak_nothing(api_a, client_for):
    mine = add(api_a, "mine")
    trashed = add(api_a, "trashed")
    api_a.delete(f"{TASKS}/{trashed}")
    api_b = client_for(USER_B)
    theirs = api_b.post(f"/api/{USER_B}/tasks", {"title": "theirs"}, format="json").json()["id"]

    answers = [move(api_a, mine, after=anchor) for anchor in (theirs, trashed, 10**12)]
    assert {r.status_code for r in answers} == {400}
    assert len({str(r.json()) for r in answers}) == 1  # the same answer: nothing tells them apart

    missing = [move(api_a, task, after=mine) for task in (theirs, trashed, 10**12)]
    assert {r.status_code for r in missing} == {404}
    assert (
        len(
            {
                r.json()["detail"].replace(str(task), "N")
                for r, task in zip(missing, (theirs, trashed, 10**12), strict=True)
            }
        )
        == 1
    )
    anchored = api_b.post(f"/api/{USER_B}/tasks/{theirs}/move", {"after": mine}, format="json")
    assert anchored.status_code == 400  # user B cannot anchor on A's task either
    assert api_b.post(f"/api/user-a/tasks/{mine}/move", {"after": mine}, format="json").status_code == 403


def test_if_match_guards_a_move(api_a):
    a = add(api_a, "a")
    b = add(api_a, "b")
    response = move(api_a, b, before=a)
    stale = '"0"'
    refused = api_a.post(f"{TASKS}/{a}/move", {"before": b}, format="json", HTTP_IF_MATCH=stale)
    assert refused.status_code == 412
    current = api_a.get(f"{TASKS}/{a}")["ETag"]
    assert api_a.post(f"{TASKS}/{a}/move", {"before": b}, format="json", HTTP_IF_MATCH=current).status_code == 200
    assert response.status_code == 200


def test_the_schema_says_a_move_needs_its_body_of_one_of_two_shapes():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    body = schema["paths"]["/api/{user_id}/tasks/{id}/move"]["post"]["requestBody"]

    assert body["required"] is True
    move = schema["components"]["schemas"]["MoveRequest"]
    assert [shape["$ref"].rpartition("/")[2] for shape in move["oneOf"]] == ["MoveBeforeRequest", "MoveAfterRequest"]
