"""Cost per request stays flat: query budgets, no N+1, index use, and microsecond token checks."""

import time
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tasks import pagination, selectors, services
from tasks.filters import task_query
from tasks.services import TaskDraft
from tests.conftest import USER_A, event_statements, statements
from todo_project import auth


@pytest.fixture(autouse=True)
def _throttle_counts_outside_sql(settings):
    """Throttle counters live in the shared cache (Redis in production): not part of the SQL budget."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


# Statements per request, beside a write's event (event_statements(): its INSERT in the write's transaction,
# or none where the write's own statement inserts it, "in_statement").
BUDGETS = [
    ("list", "get", "/api/user-a/tasks", None, 1, None),
    ("get", "get", "/api/user-a/tasks/{id}", None, 1, None),
    ("create", "post", "/api/user-a/tasks", {"title": "New"}, 2, "in_statement"),  # the quota's COUNT, the INSERT
    ("update", "put", "/api/user-a/tasks/{id}", {"title": "Renamed"}, 1, "in_statement"),
    ("toggle", "patch", "/api/user-a/tasks/{id}/complete", None, 1, "in_statement"),
    ("delete", "delete", "/api/user-a/tasks/{id}", None, 1, "in_statement"),
]


@pytest.mark.django_db(transaction=True)  # no test transaction around, so no SAVEPOINT queries to count
@pytest.mark.parametrize("tasks_of_user", [1, 60])
@pytest.mark.parametrize(("name", "method", "path", "body", "budget", "writes"), BUDGETS, ids=[b[0] for b in BUDGETS])
def test_query_budget_per_route_does_not_grow_with_tasks(
    api_a, task_factory, tasks_of_user, name, method, path, body, budget, writes
):
    task_factory.create_batch(tasks_of_user - 1)
    task = task_factory()
    for other in task_factory._meta.model.objects.filter(user_id=USER_A):  # tags must not add queries (no N+1)
        services.task_update(user_id=USER_A, task_id=other.id, tags=["home", f"t{other.id}"])

    with CaptureQueriesContext(connection) as captured:
        response = getattr(api_a, method)(path.format(id=task.id), body, format="json")

    assert response.status_code < 300
    event = event_statements(in_statement=writes == "in_statement") if writes else 0
    assert len(statements(captured)) == budget + event, statements(captured)


@pytest.mark.django_db(transaction=True)
def test_create_is_the_quotas_count_one_insert_and_its_event(api_a):
    with CaptureQueriesContext(connection) as captured:
        api_a.post("/api/user-a/tasks", {"title": "New"}, format="json")

    count, insert, *event = statements(captured)
    assert "COUNT(" in count
    assert insert.startswith(('INSERT INTO "tasks_task"', 'WITH written AS (INSERT INTO "tasks_task"'))
    assert len(event) == event_statements(in_statement=True)
    assert "events_event" in (event or [insert])[-1]


@pytest.mark.django_db
@pytest.mark.parametrize("authorization", ["Bearer not-a-token", "Bearer a.b.c", None])
def test_rejected_authentication_touches_no_database(client, django_assert_num_queries, authorization):
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}

    with django_assert_num_queries(0):
        assert client.get("/api/user-a/tasks", **headers).status_code == 401


def _microseconds_per_call(function, calls: int = 300) -> float:
    best = float("inf")
    for _ in range(3):  # the best of three batches: other load on the machine only slows a batch
        started = time.perf_counter()
        for _ in range(calls):
            function()
        best = min(best, (time.perf_counter() - started) / calls * 1e6)
    return best


@pytest.mark.parametrize("alg", ["HS256", "EdDSA"])
def test_verifying_a_token_costs_microseconds(make_token, plugin_token, better_auth, alg):
    token = make_token() if alg == "HS256" else plugin_token("EdDSA")
    auth.verify_token(token)  # the JWKS is fetched once, before timing

    cost = _microseconds_per_call(lambda: auth.verify_token(token))

    assert cost < 1000, f"{alg} verification took {cost:.0f} µs"
    assert better_auth.fetches <= 1


def _plan(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.fixture
def many_users_tasks(db):
    if connection.vendor != "postgresql":
        pytest.skip("EXPLAIN output is PostgreSQL's; runs in the PostgreSQL pass")
    # user-0 has 10,000 tasks (1 in 50 about groceries); 199 other users share 10,000 more.
    drafts = (TaskDraft(user_id="user-0" if n % 2 else f"user-{1 + n % 199}",
                        title=f"Task {n} groceries" if n % 100 == 1 else f"Task {n}")
              for n in range(20_000))  # fmt: skip
    services.task_bulk_create(drafts=drafts)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE tasks_task")


def _filtered(**params) -> Any:
    filters = task_query(user_id="user-0", params=params)
    assert filters.is_valid(), filters.errors
    return filters.ordered()


@pytest.mark.parametrize(
    ("query", "index"),
    [
        (lambda: _filtered()[:50], "task_user_created_live_idx"),
        (lambda: _filtered(completed="false")[:50], "task_user_created_live_idx"),
        (lambda: _filtered(ordering="due_at")[:50], "task_user_due_live_idx"),
        (lambda: _filtered(search="groceries"), "task_search_idx"),
        (lambda: selectors.task_changes(user_id="user-0", since=timezone.now() - timedelta(days=1)),
         "task_user_updated_idx"),
    ],
    ids=["list", "list-filtered", "list-by-due", "search", "sync"],
)  # fmt: skip
def test_list_search_and_sync_queries_use_their_index(many_users_tasks, query, index):
    plan = _plan(query())

    assert index in plan, plan
    assert "Seq Scan on tasks_task " not in plan, plan


def test_a_deep_cursor_page_is_an_index_range_scan_at_100k_tasks(db):
    """Cursor pages stay as cheap deep in a 100,000-task list as on its first page."""
    if connection.vendor != "postgresql":
        pytest.skip("EXPLAIN output is PostgreSQL's; runs in the PostgreSQL pass")
    services.task_bulk_create(drafts=(TaskDraft(user_id=USER_A, title=f"Task {n}") for n in range(100_000)))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE tasks_task")
    filters = task_query(user_id=USER_A, params={})
    assert filters.is_valid()
    keys, rows = filters.ordering_keys(), filters.ordered()
    deep = rows[90_000]  # a cursor made from the 90,000th task
    after = rows.filter(pagination._after(keys, [getattr(deep, key.field) for key in keys]))[:51]

    plan = _plan(after)
    started = time.perf_counter()
    page = list(after)
    deep_ms = (time.perf_counter() - started) * 1000

    assert len(page) == 51
    assert "task_user_created_live_idx" in plan, plan
    assert "Sort" not in plan.split("SubPlan")[0], plan  # rows come in index order: no sort of 90,000 rows
    assert deep_ms < 100, f"a deep page took {deep_ms:.1f} ms"


@pytest.mark.django_db
def test_the_hot_reads_become_prepared_statements(task_factory):
    """On PostgreSQL, a read run five times on a connection is prepared there: the server stops
    planning it again for every request (DB_PREPARED_STATEMENTS, on by default)."""
    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's: runs in the PostgreSQL pass")
    task = task_factory(user_id=USER_A)
    for _ in range(6):
        selectors.task_get(user_id=USER_A, task_id=task.id)
        list(selectors.task_list(user_id=USER_A))
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        statements = [row[0] for row in cursor.fetchall()]
    tasks = [statement for statement in statements if 'FROM "tasks_task"' in statement]
    assert any('"tasks_task"."id" = $1' in statement for statement in tasks), statements
    assert any("ORDER BY" in statement and "$1" in statement for statement in tasks), statements


@pytest.fixture
def listed_tasks(many_users_tasks, settings):
    """user-0's 10,000 tasks: 1 % in each of four lists, the rest in the Inbox; and a subtree of three levels."""
    settings.MAX_TASKS_PER_USER = 20_000  # the seeded 10,000 fill the default quota; the subtree needs three more
    from tasks.models import Task, TaskList
    from tasks.services import lists

    inbox = lists.inbox(user_id="user-0")
    made = [lists.list_create(user_id="user-0", name=f"List {n}") for n in range(4)]
    mine = Task.objects.filter(user_id="user-0")
    for n, task_list in enumerate(made):
        mine.filter(id__in=[t for t in mine.values_list("id", flat=True) if t % 100 == n + 1]).update(list=task_list)
    root = services.task_create(user_id="user-0", title="trip", list_id=made[0].id)
    child = services.task_create(user_id="user-0", title="flights", parent_id=root.id)
    services.task_create(user_id="user-0", title="passport", parent_id=child.id)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE tasks_task")
    return {"inbox": inbox, "list": made[0], "root": root, "lists": TaskList}


@pytest.mark.parametrize("which", ["list", "inbox", "inbox-by-id"])
def test_one_lists_tasks_are_read_through_an_index(listed_tasks, which):
    """A small list through the list index; the Inbox (most of the tasks) may as well walk the newest first."""
    value = {"list": listed_tasks["list"].id, "inbox": "inbox", "inbox-by-id": listed_tasks["inbox"].id}[which]
    plan = _plan(_filtered(list=str(value))[:50])

    if which == "list":
        assert "task_user_list_live_idx" in plan, plan
    assert "Seq Scan on tasks_task " not in plan, plan


def test_a_subtree_is_read_through_the_parent_index(listed_tasks):
    from tasks.models import Task

    root = listed_tasks["root"].id
    subtree = Task.objects.filter(selectors.subtree([root]), user_id="user-0", deleted_at=None)
    plan = _plan(subtree)

    assert "task_parent_idx" in plan, plan
    assert "Seq Scan on tasks_task " not in plan, plan
    assert [task.title for task in selectors.task_subtree(user_id="user-0", task_id=root)] == [
        "trip", "flights", "passport",
    ]  # fmt: skip
