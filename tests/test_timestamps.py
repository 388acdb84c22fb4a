"""Timestamps read from PostgreSQL by the fast loader are exactly what Django's own loader gives."""

import datetime

import pytest
from django.db import connection
from django.db.backends.postgresql.psycopg_any import BaseTzLoader, get_adapters_template
from psycopg import adapters
from psycopg.pq import Format

from tasks import selectors, services

TIMESTAMPTZ = adapters.types["timestamptz"].oid

SAMPLES = [
    b"2026-11-25 13:41:30.567863+00",
    b"2026-11-25 13:41:30+00",
    b"2024-02-29 23:59:59.999999+00",
    b"0001-01-01 00:00:00+00",
    b"9999-12-31 23:59:59.999999+00",
    b"2026-06-01 12:00:00+02",  # not UTC: falls back to Django's loader
    b"0044-03-15 12:00:00+00 BC",  # not ISO: falls back (and fails) like Django's
]


@pytest.mark.parametrize("data", SAMPLES, ids=[sample.decode() for sample in SAMPLES])
def test_fast_loader_equals_djangos(data):
    fast = get_adapters_template(True, datetime.UTC).get_loader(TIMESTAMPTZ, Format.TEXT)
    django = type("DjangoUTC", (BaseTzLoader,), {"timezone": datetime.UTC})

    def load(loader_class):
        try:
            return ("ok", loader_class(TIMESTAMPTZ).load(data))
        except Exception as exc:
            return ("error", type(exc))

    assert fast.__name__ == "FastUTCTimestamptzLoader"
    assert load(fast) == load(django)
    if load(fast)[0] == "ok":
        assert load(fast)[1].tzinfo is load(django)[1].tzinfo


@pytest.mark.django_db
def test_timestamps_round_trip_through_the_database():
    task = services.task_create(user_id="u", title="t")

    read = selectors.task_get(user_id="u", task_id=task.id)

    assert read.created_at == task.created_at
    assert read.created_at.tzinfo is datetime.UTC
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            loader = cursor.cursor.adapters.get_loader(TIMESTAMPTZ, Format.TEXT)
        assert loader.__name__ == "FastUTCTimestamptzLoader"
