"""The API docs in a real browser: Swagger UI loads under the CSP, takes a bearer token and lists tasks."""

import pytest
from playwright.sync_api import Page, expect

from tasks.services import task_create
from tests.browser.conftest import Console
from tests.conftest import USER_A, USER_B
from todo_project.auth import mint_token

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LIST_TASKS = "/api/{user_id}/tasks"


def test_docs_load_with_every_operation_and_no_csp_violation(page: Page, console: Console) -> None:
    page.goto("/api/docs/")

    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Todo backend API")
    expect(page.locator(f".opblock-get .opblock-summary-path[data-path='{LIST_TASKS}']")).to_be_visible()
    expect(page.locator(".opblock-post .opblock-summary-path[data-path='/api/{user_id}/chat']")).to_be_visible()
    expect(page.locator(".swagger-ui button.authorize").first).to_be_visible()
    console.assert_clean()


def test_try_it_out_lists_a_users_tasks_with_a_bearer_token(page: Page, console: Console) -> None:
    task_create(user_id=USER_A, title="Water the ferns", completed=True)
    task_create(user_id=USER_A, title="Renew the passport")
    task_create(user_id=USER_B, title="Call the plumber")
    token = mint_token(USER_A, ttl=300)

    page.goto("/api/docs/")
    operation = page.locator(".opblock-get").filter(
        has=page.locator(f".opblock-summary-path[data-path='{LIST_TASKS}']")
    )
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    operation.locator("input[placeholder='user_id']").fill(USER_A)
    responses = operation.locator(".live-responses-table")

    # Without a token: the API refuses, and Swagger UI shows it.
    operation.get_by_role("button", name="Execute").click()
    expect(responses.locator("tbody .response-col_status")).to_have_text("401")

    # Authorize: the dialog takes the bearer token for the BetterAuthJWT scheme.
    page.locator(".auth-wrapper button.authorize").click()
    dialog = page.locator(".modal-ux")
    expect(dialog).to_contain_text("BetterAuthJWT")
    dialog.get_by_label("auth-bearer-value").fill(token)
    dialog.get_by_role("button", name="Apply credentials").click()  # the dialog's "Authorize"
    expect(dialog.get_by_role("button", name="Remove authorization")).to_be_visible()  # its "Logout"
    dialog.get_by_role("button", name="Close", exact=True).click()
    expect(dialog).to_be_hidden()

    with page.expect_request(lambda request: f"/api/{USER_A}/tasks" in request.url) as sent:
        operation.get_by_role("button", name="Execute").click()
    carries_the_token = sent.value.headers.get("authorization") == f"Bearer {token}"
    assert carries_the_token, "Swagger UI did not send the token it was given"

    expect(responses.locator("tbody .response-col_status")).to_have_text("200")
    body = responses.locator("tbody .response-col_description")
    expect(body).to_contain_text("Water the ferns")
    expect(body).to_contain_text("Renew the passport")
    expect(body).not_to_contain_text("Call the plumber")  # another user's task
    console.assert_clean()


def test_the_browser_enforces_the_csp_and_the_tests_see_a_violation(page: Page, console: Console) -> None:
    """The CSP checks above are not vacuous: an inline script is refused, and the console records it."""
    page.goto("/api/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Todo backend API")

    with page.expect_console_message(lambda message: message.type == "error") as refused:
        page.evaluate(
            """() => {
                const script = document.createElement("script");
                script.textContent = "document.body.dataset.inline = 'ran'";
                document.body.append(script);
            }"""
        )

    assert "script-src 'self'" in refused.value.text
    expect(page.locator("body")).not_to_have_attribute("data-inline", "ran")
    assert len(console.csp_violations) == 1
    assert console.problems() == [f"CSP violation: {refused.value.text}"]
    console.csp_violations.clear()  # this one was provoked on purpose
