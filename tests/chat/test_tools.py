"""The agent's tools, driven by the SDK's ScriptedModel through the real Runner."""

import pytest
from agents.testing import ScriptedModel, assistant_message, function_call
from asgiref.sync import async_to_sync

from chat.agent import build_agent, run_turn
from chat.tools import ChatContext
from tasks import selectors
from tests.conftest import USER_A, USER_B

pytestmark = pytest.mark.django_db


def run_tool(caller: str, name: str, **arguments):
    """One turn of `caller` in which the model calls `name(**arguments)`; returns the recorded calls."""
    model = ScriptedModel([[function_call(name, arguments, call_id="call-1")], [assistant_message("ok")]])
    context = ChatContext(user_id=caller)

    async_to_sync(run_turn)(context, [{"role": "user", "content": "do it"}], build_agent(model))

    model.assert_complete()
    return context.tool_calls


def test_tools_are_named_and_shaped_as_the_contract_says():
    tools = {tool.name: tool.params_json_schema for tool in build_agent().tools}

    assert set(tools) == {
        "add_task", "list_tasks", "complete_task", "delete_task", "update_task", "create_list", "rename_list",
        "list_lists",
    }  # fmt: skip
    fields = {"priority", "tags", "due", "recurrence", "list", "parent"}
    assert set(tools["add_task"]["properties"]) == {"title", "description", *fields}
    assert tools["list_tasks"]["properties"]["status"]["enum"] == ["all", "pending", "completed"]
    assert set(tools["list_tasks"]["properties"]) == {
        "status", "priority", "tag", "due_before", "due_after", "overdue", "search", "list", "parent",
    }  # fmt: skip
    assert set(tools["complete_task"]["properties"]) == {"task_id"}
    assert set(tools["delete_task"]["properties"]) == {"task_id"}
    assert set(tools["update_task"]["properties"]) == {"task_id", "title", "description", *fields}
    assert set(tools["create_list"]["properties"]) == {"name"}
    assert set(tools["rename_list"]["properties"]) == {"list", "name"}
    assert set(tools["list_lists"]["properties"]) == set()
    assert {"integer", "string"} <= {arm.get("type") for arm in tools["add_task"]["properties"]["list"]["anyOf"]}
    assert all("user" not in name for schema in tools.values() for name in schema["properties"])


def test_add_task_results_and_records_the_call():
    [call] = run_tool(USER_A, "add_task", title="Buy milk", description=None)

    task = selectors.task_list(user_id=USER_A).get()
    assert call["name"] == "add_task"
    assert call["arguments"] == {"title": "Buy milk", "description": None}
    assert call["result"] == {"task_id": task.id, "status": "created", "title": "Buy milk"}


def test_the_model_cannot_choose_the_user():
    # A model that smuggles a user_id argument in: it is not a parameter, so it changes nothing.
    [call] = run_tool(USER_A, "add_task", title="Sneaky", description=None, user_id=USER_B)

    assert call["result"]["status"] == "created"
    assert not selectors.task_list(user_id=USER_B).exists()
    assert selectors.task_list(user_id=USER_A).get().title == "Sneaky"


def test_list_tasks_is_scoped_and_shaped(task_factory):
    mine = task_factory(title="Mine", completed=True)
    task_factory(title="Theirs", user_id=USER_B)

    [call] = run_tool(USER_A, "list_tasks", status="completed")

    assert call["result"] == [
        {"id": mine.id, "title": "Mine", "completed": True, "priority": "none", "tags": [], "due_at": None}
    ]


def test_update_task_without_changes_is_invalid(task_factory):
    task = task_factory(title="Same")

    [call] = run_tool(USER_A, "update_task", task_id=task.id, title=None, description=None)

    assert call["result"]["status"] == "invalid"


# One scenario, two fronts: the REST API and the agent's tool reach the same outcome.

SCENARIOS = [
    ("complete", {"completed": True}, "complete_task", {}, {"completed": True}),
    ("rename", {"title": "Renamed"}, "update_task", {"title": "Renamed", "description": None}, {"title": "Renamed"}),
    ("blank-title", {"title": "  "}, "update_task", {"title": "  ", "description": None}, None),
    ("too-long-title", {"title": "x" * 201}, "update_task", {"title": "x" * 201, "description": None}, None),
    ("delete", None, "delete_task", {}, "deleted"),
    (
        "priority-and-tags",
        {"priority": "high", "tags": ["Errands", "home"]},
        "update_task",
        {"priority": "high", "tags": ["Errands", "home"]},
        {"priority_name": "high", "tags": ["errands", "home"]},
    ),
    ("bad-tag", {"tags": ["a/b"]}, "update_task", {"tags": ["a/b"]}, None),
]


def _value(task, field):
    return sorted(task.tags.values_list("name", flat=True)) if field == "tags" else getattr(task, field)


@pytest.mark.parametrize(
    ("case", "rest_body", "tool", "tool_args", "outcome"), SCENARIOS, ids=[s[0] for s in SCENARIOS]
)
@pytest.mark.parametrize("owner", ["own", "foreign"])
def test_rest_and_agent_tool_agree(api_a, task_factory, case, rest_body, tool, tool_args, outcome, owner):
    rest_task = task_factory(title="Original", user_id=USER_A if owner == "own" else USER_B)
    tool_task = task_factory(title="Original", user_id=USER_A if owner == "own" else USER_B)

    path = f"/api/{USER_A}/tasks/{rest_task.id}"
    rest = api_a.delete(path) if rest_body is None else api_a.put(path, rest_body, format="json")
    [call] = run_tool(USER_A, tool, task_id=tool_task.id, **tool_args)

    if outcome is None:  # invalid input is refused before any lookup, whoever owns the task
        assert rest.status_code == 400
        assert call["result"]["status"] == "invalid"
        assert set(call["result"]["errors"]) == set(rest.json())
    elif owner == "foreign":
        assert rest.status_code == 404
        assert call["result"]["status"] == "not_found"
    elif outcome == "deleted":
        assert rest.status_code == 204
        assert call["result"]["status"] == "deleted"
    else:
        assert rest.status_code == 200
        assert call["result"]["status"] in {"completed", "updated"}
    for task in (rest_task, tool_task):
        exists = selectors.task_list(user_id=task.user_id).filter(pk=task.pk).exists()
        if owner == "foreign" or outcome is None:
            task.refresh_from_db()
            assert (task.title, task.completed) == ("Original", False)
        elif outcome == "deleted":
            assert not exists
        else:
            task.refresh_from_db()
            assert all(_value(task, field) == value for field, value in outcome.items())
