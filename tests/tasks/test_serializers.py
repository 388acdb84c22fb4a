"""The task serializer's fast output is exactly DRF's own rendering of the declared fields."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from rest_framework import serializers

from tasks.serializers import TaskSerializer, iso_datetime


@pytest.mark.django_db
@pytest.mark.parametrize("description", [None, "", "Some details ü"])
def test_fast_representation_equals_drfs(task_factory, description):
    task = task_factory(description=description, completed=True)
    task.refresh_from_db()

    fast = TaskSerializer(task).data
    drf = serializers.ModelSerializer.to_representation(TaskSerializer(), task)

    assert dict(fast) == dict(drf)
    assert list(fast) == TaskSerializer.Meta.fields


@pytest.mark.parametrize(
    "value",
    [
        datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
        datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        datetime(2026, 6, 1, 12, 0, tzinfo=timezone(timedelta(hours=2))),
    ],
)
def test_iso_datetime_matches_drf(value):
    assert iso_datetime(value) == serializers.DateTimeField().to_representation(value)
