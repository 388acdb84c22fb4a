"""The limits of export and import: the body size (past Django's own 1 MiB), the row cap, the summary answer."""

import json

import pytest

from tasks import services
from tasks.exceptions import BulkInvalid
from tasks.models import Task
from tests.conftest import USER_A

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
    monkeypatch.setattr("tasks.services.bulk.IMPORT_BATCH", 2)
    items = [{"title": "ok"}] * 5 + [{"title": "ok", "list_id": 999_999}]

    with pytest.raises(BulkInvalid) as refused:
        services.task_import(user_id=USER_A, items=items)

    assert refused.value.errors == {5: {"list_id": ["No such list."]}}
    assert not Task.objects.exists()
