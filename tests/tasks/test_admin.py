"""The Django admin shows, filters and searches tasks."""

import pytest

from tests.conftest import USER_B

pytestmark = pytest.mark.django_db


def test_changelist_lists_filters_and_searches(admin_client, task_factory):
    task_factory(title="Buy groceries", completed=False)
    task_factory(title="Pay bills", completed=True)
    task_factory(title="Walk the dog", user_id=USER_B)

    everything = admin_client.get("/admin/tasks/task/")
    done = admin_client.get("/admin/tasks/task/", {"completed__exact": "1"})
    found = admin_client.get("/admin/tasks/task/", {"q": "groceries"})
    by_user = admin_client.get("/admin/tasks/task/", {"q": USER_B})

    assert everything.status_code == 200
    assert all(title in everything.content.decode() for title in ["Buy groceries", "Pay bills", "Walk the dog"])
    assert "Pay bills" in done.content.decode()
    assert "Buy groceries" not in done.content.decode()
    assert "Buy groceries" in found.content.decode()
    assert "Pay bills" not in found.content.decode()
    assert "Walk the dog" in by_user.content.decode()
    assert "Buy groceries" not in by_user.content.decode()


def test_change_page_saves_and_bumps_updated_at(admin_client, task_factory):
    task = task_factory(title="Old")

    response = admin_client.post(
        f"/admin/tasks/task/{task.id}/change/",
        {
            "user_id": task.user_id,
            "title": "New",
            "description": "",
            "completed": "on",
            "priority": "2",
            "position": 0,
            "subtasks-TOTAL_FORMS": 0,
            "subtasks-INITIAL_FORMS": 0,
        },  # the (read-only) subtasks inline
    )

    assert response.status_code == 302
    before = task.updated_at
    task.refresh_from_db()
    assert (task.title, task.completed) == ("New", True)
    assert task.updated_at > before


def test_admin_needs_a_staff_login(client):
    response = client.get("/admin/tasks/task/")

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_a_list_shows_its_tasks_and_a_task_its_subtasks(admin_client, api_a):
    work = api_a.post("/api/user-a/lists", {"name": "Work"}, format="json").json()
    parent = api_a.post("/api/user-a/tasks", {"title": "Quarterly report", "list_id": work["id"]}, format="json")
    api_a.post("/api/user-a/tasks", {"title": "Collect numbers", "parent_id": parent.json()["id"]}, format="json")

    lists = admin_client.get("/admin/tasks/tasklist/")
    page = admin_client.get(f"/admin/tasks/tasklist/{work['id']}/change/")
    task_page = admin_client.get(f"/admin/tasks/task/{parent.json()['id']}/change/")

    assert lists.status_code == page.status_code == task_page.status_code == 200
    assert b"Work" in lists.content
    assert b"Quarterly report" in page.content
    assert b"Collect numbers" in page.content  # in the list too
    assert b"Collect numbers" in task_page.content
