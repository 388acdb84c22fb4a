"""The management commands: seed_demo and mint_token."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tasks import selectors
from tasks.models import Task, TaskList
from todo_project import auth

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_seed_demo_creates_tasks_with_progress_and_is_idempotent():
    first = run("seed_demo", "--users", "4", "--tasks-per-user", "30", "--batch-size", "50")
    second = run("seed_demo", "--users", "4", "--tasks-per-user", "30")
    topped_up = run("seed_demo", "--users", "5", "--tasks-per-user", "30")

    users = [f"demo-user-{n}" for n in range(1, 6)]
    assert "50/120 tasks" in first
    assert "120/120 tasks (100%" in first
    assert "Nothing to do" in second
    assert "Creating 30 tasks" in topped_up
    assert selectors.task_counts_by_user(user_ids=users) == dict.fromkeys(users, 30)


def test_seed_demo_reset_starts_over_and_leaves_other_users_alone(task_factory):
    run("seed_demo", "--users", "2", "--tasks-per-user", "3")
    task_factory(user_id="someone-else")

    output = run("seed_demo", "--users", "2", "--tasks-per-user", "3", "--reset")

    assert "Deleted 6 demo tasks" in output
    assert selectors.task_counts_by_user(user_ids=["demo-user-1", "demo-user-2", "someone-else"]) == {
        "demo-user-1": 3,
        "demo-user-2": 3,
        "someone-else": 1,
    }


def test_seed_demo_refuses_nonsense():
    with pytest.raises(CommandError, match="at least"):
        run("seed_demo", "--users", "0")


def test_mint_token_prints_a_token_the_api_accepts(client):
    token = run("mint_token", "demo-user-1", "--ttl", "120").strip()

    assert auth.verify_token(token).id == "demo-user-1"
    response = client.get("/api/demo-user-1/tasks", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200


@pytest.mark.parametrize("args", [("u", "--ttl", "0"), (" ",)])
def test_mint_token_refuses_nonsense(args):
    with pytest.raises(CommandError):
        run("mint_token", *args)


def test_seed_demo_lists_gives_lists_and_subtasks_once(api_a):
    first = run("seed_demo", "--users", "2", "--tasks-per-user", "6", "--lists", "--prefix", "user-")
    again = run("seed_demo", "--users", "2", "--tasks-per-user", "6", "--lists", "--prefix", "user-")

    assert "2 demo users organised" in first
    assert "0 demo users organised" in again
    lists = api_a.get("/api/user-a/lists").json()
    assert [item["name"] for item in lists] == ["Inbox"]  # user-a is not a demo user: untouched
    assert sorted(TaskList.objects.filter(user_id="user-1").values_list("name", flat=True)) == ["Home", "Inbox", "Work"]
    trip = Task.objects.get(user_id="user-1", title="Plan the trip")
    assert sorted(Task.objects.filter(parent=trip).values_list("title", flat=True)) == ["Book a hotel", "Book flights"]
    assert Task.objects.filter(user_id="user-1", list__name="Work").exists()
