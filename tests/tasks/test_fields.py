"""A task's public fields are declared once (tasks/fields.py), and every place that lists them reads that."""

import importlib

from tasks import exporting, services
from tasks.fields import CSV_NAMES, EDITABLE_NAMES, INTERNAL_COLUMNS, LIST_COLUMN, PUBLIC_NAMES, READ_ONLY_NAMES
from tasks.models import Task
from tasks.serializers import TaskSerializer


def test_every_field_of_the_model_is_declared_public_or_internal():
    model_fields = {
        field.attname if field.many_to_one else field.name  # a foreign key is its id: list_id
        for field in Task._meta.get_fields()
        if not field.auto_created or field.concrete
    }
    assert model_fields == {*PUBLIC_NAMES, *INTERNAL_COLUMNS}


def test_the_serializer_renders_and_accepts_the_declared_fields():
    serializer = TaskSerializer()
    assert list(serializer.fields) == list(PUBLIC_NAMES)
    writable = [name for name, field in serializer.fields.items() if not field.read_only]
    assert writable == list(EDITABLE_NAMES)
    assert sorted(TaskSerializer.Meta.read_only_fields) == sorted(READ_ONLY_NAMES)


def test_the_services_edit_the_declared_editable_fields():
    assert services.EDITABLE_FIELDS == EDITABLE_NAMES


def test_the_csv_export_has_every_exported_field_with_the_record_timestamps_last():
    assert list(CSV_NAMES) == exporting.CSV_COLUMNS
    # A list's id means nothing to another user: the export names the list instead (parent_id is the file's own).
    assert set(CSV_NAMES) == set(PUBLIC_NAMES) - {"user_id", "list_id"} | {LIST_COLUMN}
    assert CSV_NAMES[-2:] == ("created_at", "updated_at")


def test_the_benchmark_baseline_answers_the_declared_fields(monkeypatch):
    monkeypatch.setenv("BASELINE_DATABASE_URL", "postgres://nowhere/none")  # the pool is not opened on import
    baseline = importlib.import_module("bench.baseline")
    assert baseline.KEYS == PUBLIC_NAMES
