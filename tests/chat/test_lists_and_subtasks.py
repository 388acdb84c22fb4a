"""Lists and subtasks through the offline chat: each phrase over HTTP, its effect read back through the REST API."""

import pytest

from tests.conftest import USER_A, USER_B

pytestmark = pytest.mark.django_db
TASKS, LISTS = f"/api/{USER_A}/tasks", f"/api/{USER_A}/lists"


def chat(client, message, conversation_id=None):
    body = {"message": message} | ({"conversation_id": conversation_id} if conversation_id else {})
    response = client.post(f"/api/{USER_A}/chat", body, format="json")
    assert response.status_code == 200, response.json()
    return response.json()


def calls(body):
    return [(call["name"], call["arguments"]) for call in body["tool_calls"]]


def new_list(client, name):
    response = client.post(LISTS, {"name": name}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def add(client, title, **fields):
    response = client.post(TASKS, {"title": title, **fields}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def titles(client, query=""):
    return [task["title"] for task in client.get(f"{TASKS}{query}").json()]


def lists_of(client):
    return {item["name"]: item for item in client.get(LISTS).json()}


def test_create_a_list_called_home(api_a):
    body = chat(api_a, "create a list called Home")

    home = lists_of(api_a)["Home"]
    assert calls(body) == [("create_list", {"name": "Home"})]
    assert body["response"] == f"Created the list “Home” (list {home['id']})."
    assert body["tool_calls"][0]["result"] == {"list_id": home["id"], "status": "created", "name": "Home"}


def test_a_list_name_that_is_taken_is_refused(api_a):
    new_list(api_a, "Home")

    body = chat(api_a, "create a list called home")

    assert body["tool_calls"][0]["result"]["status"] == "invalid"
    assert "A list with this name exists." in body["response"]
    assert [name for name in lists_of(api_a) if name.lower() == "home"] == ["Home"]


def test_add_milk_to_my_groceries_list(api_a):
    groceries = new_list(api_a, "Groceries")

    body = chat(api_a, "add milk to my groceries list")

    [call] = body["tool_calls"]
    assert (call["name"], call["arguments"]) == ("add_task", {"title": "Milk", "list": "groceries"})
    assert call["result"] == {
        "task_id": call["result"]["task_id"], "status": "created", "title": "Milk", "list_id": groceries,
        "list": "Groceries",
    }  # fmt: skip
    assert body["response"] == f"Added “Milk” to your “Groceries” list (task {call['result']['task_id']})."
    assert titles(api_a, f"?list={groceries}") == ["Milk"]
    assert titles(api_a, "?list=inbox") == []


def test_adding_to_a_list_that_does_not_exist_says_so_and_creates_nothing(api_a):
    new_list(api_a, "Groceries")

    body = chat(api_a, "add milk to my Grocries list")

    assert body["tool_calls"][0]["result"] == {
        "list": "Grocries", "status": "not_found", "error": "List Grocries not found.",
    }  # fmt: skip
    assert body["response"].startswith("You have no list called “Grocries”, so I didn't add “Milk”.")
    assert "create a list called Grocries" in body["response"]
    assert titles(api_a) == []
    assert set(lists_of(api_a)) == {"Inbox", "Groceries"}


def test_show_my_work_list(api_a):
    work = new_list(api_a, "Work")
    add(api_a, "Write report", list_id=work)
    add(api_a, "Buy milk")

    body = chat(api_a, "show my Work list")

    assert calls(body) == [("list_tasks", {"status": "all", "list": "Work"})]
    assert [item["title"] for item in body["tool_calls"][0]["result"]] == ["Write report"]
    assert body["response"].startswith("Here are your tasks in your “Work” list (1):")
    assert "Buy milk" not in body["response"]


def test_show_a_list_that_does_not_exist(api_a):
    body = chat(api_a, "show my Hobbies list")

    assert body["tool_calls"][0]["result"]["status"] == "not_found"
    assert (
        body["response"] == "You have no list called “Hobbies”, so nothing changed. Say “show my lists” to see yours."
    )


def test_show_my_lists_with_their_open_counts(api_a):
    work = new_list(api_a, "Work")
    add(api_a, "Write report", list_id=work)
    add(api_a, "Done already", list_id=work, completed=True)
    add(api_a, "Buy milk")

    body = chat(api_a, "show my lists")

    inbox = lists_of(api_a)["Inbox"]["id"]
    assert body["tool_calls"][0]["result"] == [
        {"id": inbox, "name": "Inbox", "open_count": 1, "inbox": True},
        {"id": work, "name": "Work", "open_count": 1},
    ]
    assert body["response"] == f"Your lists (2):\n• Inbox: 1 open\n• Work (list {work}): 1 open"


def test_rename_the_home_list(api_a):
    home = new_list(api_a, "Home")

    body = chat(api_a, "rename the home list to House")

    assert body["response"] == f"Renamed list {home} to “House”."
    assert api_a.get(f"{LISTS}/{home}").json()["name"] == "House"


def test_the_inbox_keeps_its_name(api_a):
    body = chat(api_a, "rename the Inbox list to Later")

    assert body["tool_calls"][0]["result"]["status"] == "invalid"
    assert set(lists_of(api_a)) == {"Inbox"}


def test_add_a_subtask_to_task_3(api_a):
    work = new_list(api_a, "Work")
    trip = add(api_a, "Trip", list_id=work)

    body = chat(api_a, f"add a subtask 'book flights' to task {trip}")

    [call] = body["tool_calls"]
    assert call["arguments"] == {"title": "Book flights", "parent": trip}
    assert body["response"] == f"Added “Book flights” under task {trip} (task {call['result']['task_id']})."
    tree = api_a.get(f"{TASKS}/{trip}?include=subtasks").json()
    assert [(sub["title"], sub["list_id"]) for sub in tree["subtasks"]] == [("Book flights", work)]


def test_add_a_subtask_to_the_task_a_title_names(api_a):
    trip = add(api_a, "Trip to Rome")

    body = chat(api_a, "add a subtask 'book flights' to the trip task")

    assert [name for name, _ in calls(body)] == ["list_tasks", "add_task"]
    assert calls(body)[1][1] == {"title": "Book flights", "parent": trip}
    assert titles(api_a, f"?parent={trip}") == ["Book flights"]


@pytest.mark.parametrize("owner", ["foreign", "missing"])
def test_a_subtask_of_a_task_that_is_not_the_users_is_refused_alike(api_a, client_for, owner):
    theirs = client_for(USER_B).post(f"/api/{USER_B}/tasks", {"title": "Theirs"}, format="json").json()["id"]
    parent = theirs if owner == "foreign" else 10**9

    body = chat(api_a, f"add a subtask 'book flights' to task {parent}")

    assert body["tool_calls"][0]["result"] == {"status": "invalid", "errors": {"parent": ["No such task."]}}
    assert body["response"] == f"I couldn't put it under task {parent}: No such task."
    assert titles(api_a) == []


def test_whats_left_on_the_trip_task(api_a):
    trip = add(api_a, "Trip")
    add(api_a, "Book flights", parent_id=trip)
    add(api_a, "Pack", parent_id=trip, completed=True)
    add(api_a, "Buy milk")

    body = chat(api_a, "what's left on the trip task?")

    assert calls(body) == [("list_tasks", {"status": "all"}), ("list_tasks", {"status": "pending", "parent": trip})]
    flights = body["tool_calls"][1]["result"][0]["id"]
    assert body["response"] == f"Left on “Trip” (task {trip}) (1):\n• {flights}: Book flights"


def test_whats_left_on_a_task_without_open_subtasks(api_a):
    trip = add(api_a, "Trip")
    add(api_a, "Pack", parent_id=trip, completed=True)

    body = chat(api_a, f"what is left on task {trip}")

    assert calls(body) == [("list_tasks", {"status": "pending", "parent": trip})]
    assert body["response"] == f"You have no pending subtasks of task {trip}."


def test_move_task_4_to_work(api_a):
    work = new_list(api_a, "Work")
    task = add(api_a, "Write report")
    step = add(api_a, "Outline", parent_id=task)

    body = chat(api_a, f"move task {task} to Work")

    assert calls(body) == [("update_task", {"task_id": task, "list": "Work"})]
    assert body["response"] == f"Moved task {task} “Write report” to your “Work” list."
    assert api_a.get(f"{TASKS}/{task}").json()["list_id"] == work
    assert api_a.get(f"{TASKS}/{step}").json()["list_id"] == work  # its subtree follows it


def test_move_task_4_to_a_list_that_does_not_exist(api_a):
    task = add(api_a, "Write report")

    body = chat(api_a, f"move task {task} to Wrok")

    assert body["response"] == "You have no list called “Wrok”, so nothing changed. Say “show my lists” to see yours."
    assert api_a.get(f"{TASKS}/{task}").json()["list_id"] is None


def test_move_task_4_to_friday_is_still_a_due_date(api_a):
    task = add(api_a, "Write report")

    body = chat(api_a, f"move task {task} to friday")

    assert calls(body) == [("update_task", {"task_id": task, "due": "friday"})]
    assert api_a.get(f"{TASKS}/{task}").json()["due_at"] is not None


def test_move_a_task_under_another_and_back_to_the_top(api_a):
    trip, flights = add(api_a, "Trip"), add(api_a, "Book flights")

    under = chat(api_a, f"make task {flights} a subtask of task {trip}")
    parent_after_under = api_a.get(f"{TASKS}/{flights}").json()["parent_id"]
    top = chat(api_a, f"make task {flights} a top-level task")

    assert under["response"] == f"Moved task {flights} “Book flights” under task {trip}."
    assert parent_after_under == trip
    assert top["response"] == f"Moved task {flights} “Book flights” to the top level."
    assert api_a.get(f"{TASKS}/{flights}").json()["parent_id"] is None


# One turn's bound counts a task with its subtasks ----------------------------------------------


def _tree(client, size):
    """A task with `size - 1` subtasks."""
    root = add(client, "Trip")
    for n in range(size - 1):
        add(client, f"Step {n}", parent_id=root)
    return root


def test_deleting_a_task_with_more_subtasks_than_the_limit_waits_for_a_yes(api_a, settings):
    settings.CHAT_MAX_DESTRUCTIVE_PER_TURN = 5
    root = _tree(api_a, 6)

    held = chat(api_a, f"delete task {root}")
    still_there = titles(api_a)
    done = chat(api_a, "yes", held["conversation_id"])

    assert held["tool_calls"][0]["result"]["status"] == "needs_confirmation"
    assert held["tool_calls"][0]["result"]["reaches"] == 6
    assert "with its subtasks that is 6 tasks" in held["response"]
    assert len(still_there) == 6
    assert done["tool_calls"][0]["result"]["status"] == "deleted"
    assert titles(api_a) == []


def test_a_subtree_within_the_limit_is_deleted_at_once(api_a, settings):
    settings.CHAT_MAX_DESTRUCTIVE_PER_TURN = 5
    root = _tree(api_a, 5)

    body = chat(api_a, f"delete task {root}")

    assert body["tool_calls"][0]["result"]["status"] == "deleted"
    assert titles(api_a) == []


def test_completing_a_parent_counts_its_open_subtasks(api_a, settings):
    settings.CHAT_MAX_DESTRUCTIVE_PER_TURN = 3
    root = _tree(api_a, 3)
    add(api_a, "Done already", parent_id=root, completed=True)  # completing the root changes it no more
    big = _tree(api_a, 4)

    small = chat(api_a, f"complete task {root}")
    held = chat(api_a, f"complete task {big}")

    assert small["tool_calls"][0]["result"]["status"] == "completed"  # 1 + 2 open subtasks: the limit
    assert held["tool_calls"][0]["result"]["reaches"] == 4
    assert titles(api_a, f"?parent={big}&completed=false") == ["Step 2", "Step 1", "Step 0"]
