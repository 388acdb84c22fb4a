"""One scenario, three fronts: the REST API, the chat assistant's tool and the MCP tool reach the same stored
outcome, because all three call the same services (REST directly, the tools through tasks.operations)."""

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from agents.testing import ScriptedModel, assistant_message, function_call
from asgiref.sync import async_to_sync
from mcp import Client

from chat.agent import build_agent, run_turn
from chat.tools import ChatContext
from mcp_server.server import build_server
from tasks import selectors, services
from tasks.models import Task
from tests.conftest import USER_A, USER_B

# The MCP tools over stdio recycle the connection around each call, which a test transaction cannot survive.
pytestmark = pytest.mark.django_db(transaction=True)

TUESDAY = "2030-01-01T09:00:00Z"  # 1 January 2030 is a Tuesday
NEXT_MONDAY = datetime(2030, 1, 7, 9, tzinfo=UTC)
FRONTS = ["rest", "chat", "mcp"]


def chat_tool(name: str, **arguments: Any) -> Any:
    model = ScriptedModel([[function_call(name, arguments, call_id="call-1")], [assistant_message("ok")]])
    context = ChatContext(user_id=USER_A)
    async_to_sync(run_turn)(context, [{"role": "user", "content": "do it"}], build_agent(model))
    [call] = context.tool_calls
    return call["result"]


def mcp_tool(name: str, **arguments: Any) -> Any:
    async def call() -> Any:
        async with Client(build_server(USER_A)) as client:
            result = await client.call_tool(name, arguments)
        return json.loads(result.content[0].text)

    return async_to_sync(call)()


def add(front: str, api: Any, **fields: Any) -> Any:
    """Add a task through `front`; the REST fields are spelled as the API spells them."""
    if front == "rest":
        return api.post(f"/api/{USER_A}/tasks", {"title": "Task", **fields}, format="json")
    tool = chat_tool if front == "chat" else mcp_tool
    arguments = {"title": "Task", **{"due" if name == "due_at" else name: value for name, value in fields.items()}}
    return tool("add_task", **arguments)


def update(front: str, api: Any, task_id: int, **fields: Any) -> Any:
    if front == "rest":
        return api.patch(f"/api/{USER_A}/tasks/{task_id}", fields, format="json")
    tool = chat_tool if front == "chat" else mcp_tool
    return tool("update_task", task_id=task_id, **{"due" if n == "due_at" else n: v for n, v in fields.items()})


def ok(front: str, response: Any) -> bool:
    if front == "rest":
        return response.status_code in {200, 201}
    return response.get("status") not in {"invalid", "not_found"}


def only_task(user_id: str = USER_A) -> Task:
    [task] = selectors.task_list(user_id=user_id)
    return task


@pytest.mark.parametrize("front", FRONTS)
def test_every_monday_set_on_a_tuesday_is_first_due_the_next_monday(api_a, front):
    response = add(front, api_a, due_at=TUESDAY, recurrence="FREQ=WEEKLY;BYDAY=MO")

    assert ok(front, response)
    task = only_task()
    assert (task.due_at, task.recurrence) == (NEXT_MONDAY, "FREQ=WEEKLY;BYDAY=MO")


@pytest.mark.parametrize("front", FRONTS)
def test_a_new_rule_on_a_dated_task_moves_it_to_the_rules_first_day(api_a, front):
    task = services.task_create(user_id=USER_A, title="Task", due_at=datetime(2030, 1, 1, 9, tzinfo=UTC))

    assert ok(front, update(front, api_a, task.id, recurrence="FREQ=WEEKLY;BYDAY=MO"))

    assert only_task().due_at == NEXT_MONDAY


@pytest.mark.parametrize("front", FRONTS)
def test_moving_one_occurrence_keeps_its_new_day(api_a, front):
    """Only a new rule aligns the series: moving a repeating task to another day postpones that occurrence."""
    task = services.task_create(user_id=USER_A, title="Task", due_at=NEXT_MONDAY, recurrence="FREQ=WEEKLY;BYDAY=MO")
    wednesday = "2030-01-09T09:00:00Z"

    assert ok(front, update(front, api_a, task.id, due_at=wednesday))

    assert only_task().due_at == datetime(2030, 1, 9, 9, tzinfo=UTC)


@pytest.mark.parametrize("front", FRONTS)
def test_completing_a_repeating_task_moves_it_to_the_next_occurrence(api_a, front):
    task = services.task_create(user_id=USER_A, title="Task", due_at=NEXT_MONDAY, recurrence="FREQ=WEEKLY;BYDAY=MO")

    if front == "rest":
        assert api_a.patch(f"/api/{USER_A}/tasks/{task.id}/complete").status_code == 200
    else:
        result = (chat_tool if front == "chat" else mcp_tool)("complete_task", task_id=task.id)
        assert result["next_due_at"] == "2030-01-14T09:00:00+00:00"

    stored = only_task()
    assert (stored.completed, stored.due_at) == (False, datetime(2030, 1, 14, 9, tzinfo=UTC))


@pytest.mark.parametrize("front", FRONTS)
def test_completing_a_completed_task_leaves_it_completed(api_a, front):
    """Completion sets the state on every front (REST with {"completed": true}); only REST's bare PATCH toggles."""
    task = services.task_create(user_id=USER_A, title="Task", completed=True)

    if front == "rest":
        response = api_a.patch(f"/api/{USER_A}/tasks/{task.id}/complete", {"completed": True}, format="json")
        assert response.status_code == 200
    else:
        assert ok(front, (chat_tool if front == "chat" else mcp_tool)("complete_task", task_id=task.id))

    assert only_task().completed is True


@pytest.mark.parametrize("front", FRONTS)
@pytest.mark.parametrize(
    "fields", [{"title": "  "}, {"title": "x" * 201}, {"tags": ["a/b"]}, {"recurrence": "FREQ=HOURLY"}], ids=str
)
def test_invalid_changes_are_refused_alike_and_change_nothing(api_a, front, fields):
    task = services.task_create(user_id=USER_A, title="Original", due_at=NEXT_MONDAY)

    response = update(front, api_a, task.id, **fields)

    if front == "rest":
        assert response.status_code == 400
        assert set(response.json()) == set(fields)
    else:
        assert response["status"] == "invalid"
        assert set(response["errors"]) == set(fields)
    stored = only_task()
    assert (stored.title, stored.recurrence, stored.updated_at) == ("Original", None, task.updated_at)


@pytest.mark.parametrize("front", FRONTS)
@pytest.mark.parametrize("filters", [{"tag": "a\x00b"}, {"tag": "home,\x00"}, {"search": "a\x00"}], ids=repr)
def test_a_nul_in_a_list_filter_is_refused_alike(api_a, front, filters):
    services.task_create(user_id=USER_A, title="Original", tags=["home"])

    if front == "rest":
        response = api_a.get(f"/api/{USER_A}/tasks", filters)
        assert response.status_code == 400
        assert set(response.json()) == set(filters)
    else:
        answer = (chat_tool if front == "chat" else mcp_tool)("list_tasks", **filters)
        assert answer["status"] == "invalid"
        assert set(answer["errors"]) == set(filters)


@pytest.mark.parametrize("front", FRONTS)
def test_a_repeating_task_without_a_due_date_is_refused_where_no_day_is_implied(api_a, front):
    """REST and MCP take dates as given: a rule needs a due date. The chat reads "every monday" alone as
    starting today (undated_start), as a person would mean it."""
    response = add(front, api_a, recurrence="FREQ=WEEKLY;BYDAY=MO")

    if front == "chat":
        assert ok(front, response)
        assert only_task().due_at.weekday() == 0  # a Monday, today or later
    elif front == "rest":
        assert response.status_code == 400
        assert "recurrence" in response.json()
    else:
        assert response["errors"] == {"recurrence": ["A repeating task needs a due_at to repeat from."]}


@pytest.mark.parametrize("front", FRONTS)
def test_someone_elses_task_is_not_found_and_untouched(api_a, front):
    theirs = services.task_create(user_id=USER_B, title="Theirs")

    response = update(front, api_a, theirs.id, title="Mine now")

    if front == "rest":
        assert response.status_code == 404
    else:
        assert (response["status"], response["task_id"]) == ("not_found", theirs.id)
    assert only_task(USER_B).title == "Theirs"
