"""The limits of export and import (the body size past Django's own 1 MiB, the row cap, the summary answer), and
the plain list streamed when long."""

import json

import pytest
from rest_framework.renderers import JSONRenderer

from tasks import selectors, services, speedups
from tasks.exceptions import BulkInvalid
from tasks.models import Task
from tasks.serializers import TaskSerializer
from tasks.services import TaskDraft
from tests.conftest import USER_A, USER_B

TASKS = "/api/user-a/tasks"
pytestmark = pytest.mark.django_db


def test_a_valid_import_over_one_mebibyte_is_imported(api_a, settings):
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE == 1024 * 1024  # Django's own limit, which request.body enforces
    rows = [{"title": f"task {n}", "description": "d" * 990} for n in range(1100)]
    body = json.dumps(rows).encode()
    assert len(body) > 1024 * 1024

    response = api_a.generic("POST", f"{TASKS}/import", body, content_type="application/json")

    assert response.status_code == 201, response.content[:300]
    assert response.json()["imported"] == 1100
    assert Task.objects.filter(user_id=USER_A).count() == 1100


def test_an_import_answers_a_summary_with_the_new_ids_in_the_files_order(api_a):
    body = b"title\nfirst\nsecond\nthird\n"

    response = api_a.generic("POST", f"{TASKS}/import", body, content_type="text/csv")

    assert response.status_code == 201
    summary = response.json()
    assert set(summary) == {"imported", "ids"}
    assert summary["imported"] == 3
    assert [Task.objects.get(pk=pk).title for pk in summary["ids"]] == ["first", "second", "third"]


def test_an_import_over_import_max_bytes_is_a_json_413(api_a, settings):
    settings.IMPORT_MAX_BYTES = 2000
    body = ("title\n" + "x" * 50 + "\n") * 40

    response = api_a.generic("POST", f"{TASKS}/import", body.encode(), content_type="text/csv")

    assert response.status_code == 413
    assert response.json() == {"detail": "Request body too large (limit 2000 bytes)."}
    assert not Task.objects.exists()


def test_an_import_over_the_row_cap_is_a_400_naming_it_and_writes_nothing(api_a, settings):
    settings.IMPORT_MAX_ROWS = 3
    body = b"title\none\ntwo\nthree\nfour\n"

    response = api_a.generic("POST", f"{TASKS}/import", body, content_type="text/csv")

    assert response.status_code == 400
    assert response.json() == {"tasks": ["At most 3 tasks per import (IMPORT_MAX_ROWS); found 4."]}
    assert not Task.objects.exists()


def test_an_import_in_several_batches_is_all_or_nothing_and_numbers_errors_by_the_whole_file(monkeypatch):
    monkeypatch.setattr("tasks.services.importing.IMPORT_BATCH", 2)
    items = [{"title": "ok"}] * 5 + [{"title": "ok", "recurrence": "FREQ=DAILY"}]

    with pytest.raises(BulkInvalid) as refused:
        services.task_import(user_id=USER_A, items=items)

    assert refused.value.errors == {5: {"recurrence": ["A repeating task needs a due_at to repeat from."]}}
    assert not Task.objects.exists()


def test_a_long_plain_list_is_streamed_with_the_bytes_and_headers_of_a_short_one(api_a, client_for):
    long = speedups.LIST_IN_MEMORY + 20
    services.task_bulk_create(drafts=[TaskDraft(user_id=USER_A, title=f"task {n} ✓") for n in range(long)])
    services.task_create(user_id=USER_A, title="tagged", tags=["home", "bills"], description="a\u2028b")
    services.task_create(user_id=USER_B, title="theirs")
    expected = JSONRenderer().render(TaskSerializer(selectors.task_list(user_id=USER_A), many=True).data)
    short = client_for(USER_B).get("/api/user-b/tasks")

    response = api_a.get(TASKS)

    assert response.streaming
    body = b"".join(response.streaming_content)
    assert body == expected
    assert len(json.loads(body)) == long + 1
    assert not short.streaming
    assert _headers(response) == _headers(short)  # all but the length, which a stream cannot know


def _headers(response) -> dict[str, str]:
    return {name: value for name, value in response.items() if name not in {"Content-Length", "X-Request-ID"}}
