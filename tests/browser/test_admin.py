"""The admin in a real browser: a staff user logs in, lists tasks, filters, searches, reads a conversation."""

import re

import pytest
from django.conf import settings
from playwright.sync_api import Page, expect

from tasks.services import task_create
from tests.browser.conftest import Console
from tests.conftest import USER_A, USER_B
from todo_project.auth import mint_token

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "staff-password-for-browser-tests-7"
ADMIN = f"/{settings.ADMIN_URL}"  # "/admin/" unless ADMIN_URL moves it


@pytest.fixture
def staff(django_user_model, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast; it is a test user
    return django_user_model.objects.create_superuser("staff", "staff@example.com", PASSWORD)


def log_in(page: Page) -> None:
    page.goto(ADMIN)
    expect(page).to_have_url(re.compile(rf"{ADMIN}login/\?next={ADMIN}$"))
    page.get_by_label("Username").fill("staff")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(rf"{ADMIN}$"))
    expect(page.get_by_role("heading", name="Site administration")).to_be_visible()


def expect_titles(page: Page, *titles: str) -> None:
    """The change list shows these tasks, in this order (newest first); waits for the page to show them."""
    expect(page.locator("#result_list tbody td.field-title")).to_have_text(list(titles))


def test_staff_user_logs_in_lists_filters_and_searches_tasks(page: Page, console: Console, staff) -> None:
    task_create(user_id=USER_A, title="Water the ferns", completed=True)
    task_create(user_id=USER_A, title="Renew the passport", tags=["errands"])
    task_create(user_id=USER_B, title="Call the plumber")

    log_in(page)
    page.locator("#tasks-task").get_by_role("link", name="Tasks", exact=True).click()
    expect(page.get_by_role("heading", name="Select task to change")).to_be_visible()
    expect_titles(page, "Call the plumber", "Renew the passport", "Water the ferns")

    filters = page.locator("#changelist-filter")
    filters.locator("details[data-filter-title='completed']").get_by_role("link", name="Yes").click()
    expect(page).to_have_url(re.compile(r"completed__exact=1"))
    expect_titles(page, "Water the ferns")

    filters.locator("details[data-filter-title='completed']").get_by_role("link", name="No").click()
    expect(page).to_have_url(re.compile(r"completed__exact=0"))
    expect_titles(page, "Call the plumber", "Renew the passport")

    page.locator("#searchbar").fill("passport")  # within the filter: the search keeps it
    page.locator("#searchbar").press("Enter")
    expect(page).to_have_url(re.compile(r"q=passport"))
    expect_titles(page, "Renew the passport")
    expect(filters.locator("details[data-filter-title='completed'] li.selected")).to_have_text("No")

    page.goto(f"{ADMIN}tasks/task/?q=errands")  # a tag name finds its tasks
    expect_titles(page, "Renew the passport")
    page.goto(f"{ADMIN}tasks/task/?q={USER_B}")  # and so does the owner
    expect_titles(page, "Call the plumber")
    console.assert_clean()


def test_staff_user_opens_a_conversation_with_its_messages(page: Page, console: Console, staff) -> None:
    # A conversation made the way users make them: through the chat API (the offline model).
    token = mint_token(USER_A, ttl=300)
    reply = page.request.post(
        f"/api/{USER_A}/chat",
        data={"message": "add a task to buy milk"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert reply.status == 200, reply.status
    conversation_id = reply.json()["conversation_id"]

    log_in(page)
    page.locator("#chat-conversation").get_by_role("link", name="Conversations", exact=True).click()
    expect(page.get_by_role("heading", name="Select conversation to change")).to_be_visible()
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(USER_A)
    rows.first.locator("th a, td a").first.click()

    expect(page).to_have_url(re.compile(rf"{ADMIN}chat/conversation/{conversation_id}/change/$"))
    expect(page.locator("#id_user_id")).to_have_value(USER_A)
    inline = page.locator(".inline-group")
    expect(inline).to_contain_text("Messages")
    messages = inline.locator("tbody tr.form-row.has_original")
    expect(messages).to_have_count(4)  # user, assistant's call, the tool's result, the assistant's reply
    roles = [text.strip() for text in messages.locator("td.field-role").all_inner_texts()]
    assert roles == ["User", "Assistant", "Tool", "Assistant"]
    expect(messages.nth(0)).to_contain_text("add a task to buy milk")
    expect(messages.nth(1)).to_contain_text("add_task")
    expect(messages.nth(3)).to_contain_text("Buy milk")
    console.assert_clean()
