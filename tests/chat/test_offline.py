"""The offline model's understanding of what users say (no database, no Runner)."""

import json

import pytest

from chat.offline import HELP, Call, next_step


def first_step(message: str):
    return next_step([{"role": "user", "content": message}])


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        # The contract's table.
        ("Add a task to buy groceries", Call("add_task", {"title": "Buy groceries"})),
        ("I need to remember to pay bills", Call("add_task", {"title": "Pay bills"})),
        ("Show me all my tasks", Call("list_tasks", {"status": "all"})),
        ("What's pending?", Call("list_tasks", {"status": "pending"})),
        ("What have I completed?", Call("list_tasks", {"status": "completed"})),
        ("Mark task 3 as complete", Call("complete_task", {"task_id": 3})),
        ("Delete the meeting task", Call("list_tasks", {"status": "all"})),
        ("Change task 1 to 'Call mom tonight'", Call("update_task", {"task_id": 1, "title": "Call mom tonight"})),
        # Plain commands.
        ("add buy milk", Call("add_task", {"title": "Buy milk"})),
        ("add a task to buy milk", Call("add_task", {"title": "Buy milk"})),
        ("Add: call the plumber", Call("add_task", {"title": "Call the plumber"})),
        ("remind me to call Bob", Call("add_task", {"title": "Call Bob"})),
        ("list my tasks", Call("list_tasks", {"status": "all"})),
        ("show my tasks", Call("list_tasks", {"status": "all"})),
        ("show pending tasks", Call("list_tasks", {"status": "pending"})),
        ("show completed tasks", Call("list_tasks", {"status": "completed"})),
        ("complete task 4", Call("complete_task", {"task_id": 4})),
        ("finish task 4", Call("complete_task", {"task_id": 4})),
        ("mark task 5 as done", Call("complete_task", {"task_id": 5})),
        ("delete task 6", Call("delete_task", {"task_id": 6})),
        ("remove task #7", Call("delete_task", {"task_id": 7})),
        ("Please delete task 9.", Call("delete_task", {"task_id": 9})),
        ("rename task 2 to Walk the dog", Call("update_task", {"task_id": 2, "title": "Walk the dog"})),
        (
            "update task 2 description to bring the receipts",
            Call("update_task", {"task_id": 2, "description": "bring the receipts"}),
        ),
        ("complete the groceries task", Call("list_tasks", {"status": "pending"})),
        # Lists and subtasks.
        ("create a list called Home", Call("create_list", {"name": "Home"})),
        ("make a new list named 'side projects'", Call("create_list", {"name": "Side projects"})),
        ("create a shopping list", Call("create_list", {"name": "Shopping"})),
        ("show my lists", Call("list_lists", {})),
        ("what lists do I have?", Call("list_lists", {})),
        ("rename the Home list to House", Call("rename_list", {"list": "Home", "name": "House"})),
        ("rename list To Do to Chores", Call("rename_list", {"list": "To Do", "name": "Chores"})),
        ("add milk to my Groceries list", Call("add_task", {"title": "Milk", "list": "Groceries"})),
        (
            "add a task to go to the bank tomorrow to my Errands list",
            Call("add_task", {"title": "Go to the bank", "due": "tomorrow", "list": "Errands"}),
        ),
        ("add milk to my to-do list", Call("add_task", {"title": "Milk"})),
        ("show my Work list", Call("list_tasks", {"status": "all", "list": "Work"})),
        ("what's left on my Work list?", Call("list_tasks", {"status": "pending", "list": "Work"})),
        ("show my inbox", Call("list_tasks", {"status": "all", "list": "Inbox"})),
        ("add a subtask 'book flights' to task 3", Call("add_task", {"title": "Book flights", "parent": 3})),
        ("add book flights as a subtask of task 3", Call("add_task", {"title": "Book flights", "parent": 3})),
        ("add a subtask 'book flights' to the trip task", Call("list_tasks", {"status": "all"})),
        ("what's left on the trip task?", Call("list_tasks", {"status": "all"})),
        ("what's left on task 3?", Call("list_tasks", {"status": "pending", "parent": 3})),
        ("show the subtasks of task 3", Call("list_tasks", {"status": "all", "parent": 3})),
        ("move task 4 to Work", Call("update_task", {"task_id": 4, "list": "Work"})),
        ("move task 4 to the Someday list", Call("update_task", {"task_id": 4, "list": "Someday"})),
        ("move task 4 to friday", Call("update_task", {"task_id": 4, "due": "friday"})),
        ("put task 4 on the Work list", Call("update_task", {"task_id": 4, "list": "Work"})),
        ("put milk on my shopping list", Call("add_task", {"title": "Milk", "list": "shopping"})),
        ("move task 4 under task 3", Call("update_task", {"task_id": 4, "parent": 3})),
        ("make task 4 a top-level task", Call("update_task", {"task_id": 4, "parent": 0})),
        ("what is left for today", Call("list_tasks", {"status": "pending"})),  # no task named: what is pending
    ],
)
def test_first_step(message, expected):
    assert first_step(message) == expected


@pytest.mark.parametrize("message", ["hello", "What's the weather like?", "thanks!", "   "])
def test_anything_else_gets_the_help_text(message):
    assert first_step(message) == HELP


def test_a_nameless_add_asks_for_a_title():
    assert "called" in first_step("add a task")


def test_after_the_tool_result_it_replies():
    items = [
        {"role": "user", "content": "add buy milk"},
        {"type": "function_call", "call_id": "c1", "name": "add_task", "arguments": '{"title": "Buy milk"}'},
        {
            "type": "function_call_output",
            "call_id": "c1",
            "output": '{"task_id": 7, "status": "created", "title": "Buy milk"}',
        },
    ]

    assert next_step(items) == "Added “Buy milk” to your tasks (task 7)."


def test_history_before_the_last_user_message_does_not_count():
    items = [
        {"role": "user", "content": "add buy milk"},
        {"type": "function_call", "call_id": "c1", "name": "add_task", "arguments": '{"title": "Buy milk"}'},
        {"type": "function_call_output", "call_id": "c1", "output": '{"task_id": 7, "status": "created"}'},
        {"role": "assistant", "content": "Added."},
        {"role": "user", "content": "delete task 7"},
    ]

    assert next_step(items) == Call("delete_task", {"task_id": 7})


@pytest.mark.parametrize(
    ("tasks", "expected"),
    [
        ([{"id": 4, "title": "Team meeting", "completed": False}], Call("delete_task", {"task_id": 4})),
        ([{"id": 4, "title": "Buy milk", "completed": False}], "I couldn't find a task matching “meeting”"),
        (
            [
                {"id": 4, "title": "Team meeting", "completed": False},
                {"id": 5, "title": "Meeting notes", "completed": False},
            ],
            "Several tasks match “meeting”: task 4 “Team meeting”, task 5 “Meeting notes”",
        ),
    ],
    ids=["one-match", "no-match", "several"],
)
def test_delete_by_name_after_listing(tasks, expected):
    items = [
        {"role": "user", "content": "Delete the meeting task"},
        {"type": "function_call", "call_id": "c1", "name": "list_tasks", "arguments": '{"status": "all"}'},
        {"type": "function_call_output", "call_id": "c1", "output": json.dumps(tasks)},
    ]

    step = next_step(items)

    if isinstance(expected, Call):
        assert step == expected
    else:
        assert step.startswith(expected)


@pytest.mark.parametrize(
    ("message", "asks"), [("make a list", "What should the new list be called?"), ("add a subtask", "Which task")]
)
def test_a_nameless_list_or_subtask_asks(message, asks):
    assert first_step(message).startswith(asks)


TRIP = {"id": 3, "title": "Trip", "completed": False}


def listed(message, tasks, *more):
    """The next step after the first call listed `tasks` (and `more` calls answered)."""
    items = [
        {"role": "user", "content": message},
        {"type": "function_call", "call_id": "c1", "name": "list_tasks", "arguments": '{"status": "all"}'},
        {"type": "function_call_output", "call_id": "c1", "output": json.dumps(tasks)},
    ]
    for n, (name, arguments, output) in enumerate(more, start=2):
        items += [
            {"type": "function_call", "call_id": f"c{n}", "name": name, "arguments": json.dumps(arguments)},
            {"type": "function_call_output", "call_id": f"c{n}", "output": json.dumps(output)},
        ]
    return next_step(items)


def test_whats_left_on_a_named_task_lists_its_open_subtasks_then_says_so():
    message = "what's left on the trip task?"
    subtasks = [{"id": 4, "title": "Book flights", "completed": False}]

    assert listed(message, [TRIP]) == Call("list_tasks", {"status": "pending", "parent": 3})
    assert listed(message, [TRIP], ("list_tasks", {"parent": 3}, subtasks)) == (
        "Left on “Trip” (task 3) (1):\n• 4: Book flights"
    )
    assert listed(message, [TRIP], ("list_tasks", {"parent": 3}, [])) == "“Trip” (task 3) has no open subtasks."
    assert listed(message, []) == "I couldn't find a task matching “trip”."
    several = listed(message, [TRIP, {"id": 5, "title": "Trip photos", "completed": False}])
    assert several.startswith("Several tasks match “trip”: task 3 “Trip”, task 5 “Trip photos”. Which one")


def test_a_subtask_of_a_named_task_is_added_under_the_match():
    message = "add a subtask 'book flights' to the trip task"

    assert listed(message, [TRIP]) == Call("add_task", {"title": "Book flights", "parent": 3})
    assert listed(message, []) == "I couldn't find a task matching “trip”, so I didn't add anything."
