"""The agent's list and subtask tools and arguments, driven by the SDK's ScriptedModel through the real Runner."""

import json

import pytest
from agents.testing import ScriptedModel, assistant_message, function_call
from asgiref.sync import async_to_sync

from chat.agent import build_agent, run_turn
from chat.tools import ChatContext
from tasks import selectors, services
from tasks.models import Task
from tasks.services import lists
from tests.conftest import USER_A, USER_B

pytestmark = pytest.mark.django_db


def tool(tool_name: str, /, **arguments):
    """What the tool answers when the model calls `tool_name(**arguments)` in a turn of USER_A."""
    model = ScriptedModel([[function_call(tool_name, arguments, call_id="call-1")], [assistant_message("ok")]])
    context = ChatContext(user_id=USER_A)
    async_to_sync(run_turn)(context, [{"role": "user", "content": "do it"}], build_agent(model))
    [call] = context.tool_calls
    return call["result"]


def task(title: str, user_id: str = USER_A, **fields) -> Task:
    return services.task_create(user_id=user_id, title=title, **fields)


def test_create_rename_and_list_lists():
    created = tool("create_list", name="  Groceries ")
    renamed = tool("rename_list", list="groceries", name="Shopping")
    task("Milk", list_id=created["list_id"])
    task("Bread", list_id=created["list_id"], completed=True)
    task("Call mom")

    listed = tool("list_lists")

    inbox = lists.inbox(user_id=USER_A)
    assert created == {"list_id": created["list_id"], "status": "created", "name": "Groceries"}
    assert renamed == {"list_id": created["list_id"], "status": "renamed", "name": "Shopping"}
    assert listed == [
        {"id": inbox.id, "name": "Inbox", "open_count": 1, "inbox": True},
        {"id": created["list_id"], "name": "Shopping", "open_count": 1},
    ]


def test_a_taken_name_and_the_inbox_are_invalid():
    tool("create_list", name="Home")

    assert tool("create_list", name="HOME")["errors"] == {"name": ["A list with this name exists."]}
    assert tool("rename_list", list="Inbox", name="Later")["status"] == "invalid"
    assert tool("create_list", name=" ")["status"] == "invalid"


@pytest.mark.parametrize("ref", ["Work", "wORK", "id", "id-as-text"])
def test_add_task_to_a_list_by_name_or_id(ref):
    work = lists.list_create(user_id=USER_A, name="Work")
    said = {"id": work.id, "id-as-text": str(work.id)}.get(ref, ref)

    added = tool("add_task", title="Report", list=said)

    assert (added["status"], added["list_id"], added["list"]) == ("created", work.id, "Work")
    assert selectors.task_list(user_id=USER_A).get().list_id == work.id


def test_a_list_named_by_digits_is_found_by_its_name_first():
    numbered = lists.list_create(user_id=USER_A, name="2030")

    assert tool("add_task", title="Plan", list="2030")["list_id"] == numbered.id
    assert tool("add_task", title="Plan", list=str(numbered.id))["list_id"] == numbered.id


def test_the_inbox_by_name_even_before_it_is_made():
    added = tool("add_task", title="Anywhere", list="inbox")

    assert (added["status"], added["list"]) == ("created", "Inbox")
    assert "list_id" not in added  # the Inbox's tasks have none
    assert [item["id"] for item in tool("list_tasks", list="Inbox")] == [added["task_id"]]


def test_list_tasks_of_a_list_and_of_a_parent():
    work = lists.list_create(user_id=USER_A, name="Work")
    report = task("Report", list_id=work.id)
    outline = task("Outline", parent_id=report.id)
    task("Milk")

    assert [item["id"] for item in tool("list_tasks", list="work")] == [outline.id, report.id]
    assert tool("list_tasks", parent=report.id) == [
        {"id": outline.id, "title": "Outline", "completed": False, "priority": "none", "tags": [], "due_at": None,
         "list_id": work.id, "parent_id": report.id}
    ]  # fmt: skip
    assert {item["title"] for item in tool("list_tasks", parent=0)} == {"Report", "Milk"}


def test_update_task_moves_a_task_with_its_subtree_and_under_another():
    work = lists.list_create(user_id=USER_A, name="Work")
    trip, flights = task("Trip"), task("Flights")
    passport = task("Passport", parent_id=flights.id)

    moved = tool("update_task", task_id=flights.id, list="Work")
    under = tool("update_task", task_id=trip.id, list="Work")
    nested = tool("update_task", task_id=flights.id, parent=trip.id)
    top = tool("update_task", task_id=flights.id, parent=0)

    assert (moved["status"], moved["list_id"], moved["list"]) == ("updated", work.id, "Work")
    assert selectors.task_get(user_id=USER_A, task_id=passport.id).list_id == work.id
    assert under["list_id"] == work.id
    assert nested["parent_id"] == trip.id
    assert "parent_id" not in top
    assert selectors.task_get(user_id=USER_A, task_id=passport.id).parent_id == flights.id


def test_a_subtask_goes_to_its_parents_list():
    work = lists.list_create(user_id=USER_A, name="Work")
    parent = task("Parent", list_id=work.id)

    added = tool("add_task", title="Child", parent=parent.id)
    wrong = tool("add_task", title="Child", parent=parent.id, list="Inbox")
    other = lists.list_create(user_id=USER_A, name="Other")
    refused = tool("add_task", title="Child", parent=parent.id, list=other.id)

    assert (added["list_id"], added["parent_id"]) == (work.id, parent.id)
    assert wrong["list_id"] == work.id  # the Inbox is no list: the parent's decides
    assert refused == {"status": "invalid", "errors": {"list": ["A subtask is in its parent's list."]}}


def _same(result: dict, ref: object, other: dict, other_ref: object) -> bool:
    """Whether two results are the same but for the id each names."""
    return json.dumps(result).replace(str(ref), "N") == json.dumps(other).replace(str(other_ref), "N")


CALLS = [
    ("add_task", {"title": "X"}),
    ("list_tasks", {}),
    ("update_task", {"task_id": "own"}),
    ("rename_list", {"name": "Hijacked"}),
]


@pytest.mark.parametrize(("name", "arguments"), CALLS, ids=[name for name, _ in CALLS])
def test_a_foreign_list_answers_like_a_missing_one(name, arguments):
    theirs = lists.list_create(user_id=USER_B, name="Theirs")
    gone = lists.list_create(user_id=USER_A, name="Gone")
    lists.list_delete(user_id=USER_A, list_id=gone.id)
    arguments = {key: task("Mine").id if value == "own" else value for key, value in arguments.items()}

    foreign = tool(name, list=theirs.id, **arguments)
    missing = tool(name, list=theirs.id + 1000, **arguments)
    trashed = tool(name, list=gone.id, **arguments)
    by_name = tool(name, list="Theirs", **arguments)

    assert foreign == {"list": theirs.id, "status": "not_found", "error": f"List {theirs.id} not found."}
    assert _same(foreign, theirs.id, missing, theirs.id + 1000)
    assert _same(foreign, theirs.id, trashed, gone.id)
    assert by_name == {"list": "Theirs", "status": "not_found", "error": "List Theirs not found."}
    assert tool(name, list=10**30, **arguments)["status"] == "not_found"  # beyond any id: no error of the database
    theirs.refresh_from_db()
    assert theirs.name == "Theirs"
    assert not Task.objects.filter(title="X").exists()


@pytest.mark.parametrize("name", ["add_task", "update_task", "list_tasks"])
def test_a_foreign_parent_answers_like_a_missing_one(name):
    theirs = task("Theirs", user_id=USER_B)
    mine = task("Mine")
    arguments = {"add_task": {"title": "X"}, "update_task": {"task_id": mine.id}, "list_tasks": {}}[name]

    foreign = tool(name, parent=theirs.id, **arguments)
    missing = tool(name, parent=theirs.id + 1000, **arguments)
    beyond = tool(name, parent=10**30, **arguments)

    assert foreign["status"] == ("not_found" if name == "list_tasks" else "invalid")
    assert _same(foreign, theirs.id, missing, theirs.id + 1000)
    assert beyond["status"] == foreign["status"]
    assert not Task.objects.filter(user_id=USER_B).exclude(pk=theirs.pk).exists()
    assert selectors.task_get(user_id=USER_A, task_id=mine.id).parent_id is None


def test_list_lists_is_bounded_for_the_model(settings):
    for n in range(150):
        lists.list_create(user_id=USER_A, name=f"{n:03} " + "x" * 96)

    listed = tool("list_lists")

    assert len(json.dumps(listed, ensure_ascii=False)) <= settings.CHAT_TOOL_RESULT_CHARS
    assert (listed["total"], listed["shown"]) == (151, len(listed["lists"]))
    assert listed["lists"][0]["name"] == "Inbox"


def test_the_turns_bound_weighs_each_call(settings):
    settings.CHAT_MAX_DESTRUCTIVE_PER_TURN = 5
    context = ChatContext(user_id=USER_A)

    assert context.hold("delete_task", 1, weight=3) is None
    held = context.hold("delete_task", 2, weight=3)
    assert context.hold("complete_task", 3, weight=2) is None  # 3 + 2: the limit
    assert context.hold("complete_task", 4) is not None

    assert (held["status"], held["reaches"]) == ("needs_confirmation", 3)
    assert "delete 3 tasks: the task and its subtasks" in held["error"]
    assert context.held == [{"name": "delete_task", "task_id": 2}, {"name": "complete_task", "task_id": 4}]
    assert ChatContext(user_id=USER_A, confirmed=frozenset({("delete_task", 9)})).hold("delete_task", 9, 50) is None


@pytest.mark.parametrize("name", ["complete_task", "delete_task"])
@pytest.mark.parametrize("task_id", [10**30, 2**63 - 1, -1])
def test_a_completion_or_deletion_of_no_such_task_is_weighed_and_not_found(name, task_id):
    assert tool(name, task_id=task_id) == {
        "task_id": task_id,
        "status": "not_found",
        "error": f"Task {task_id} not found.",
    }
