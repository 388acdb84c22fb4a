"""The outbox's speed layer: on PostgreSQL, an event's sequence number and its row in one statement.

A write and its event share a transaction; the plain way (outbox.record_plain) adds two statements to it,
this one (a data-modifying WITH, which SQLite lacks). tests/events/test_outbox.py checks that both write
the same events.
"""

import json
import uuid
from collections.abc import Sequence
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper

from events.models import Event, EventSequence
from events.outbox import UPSERT, Change

ROW = "(%s::uuid, %s::bigint, %s::varchar, %s::varchar, %s::timestamptz, %s::jsonb)"


def record_in_one_statement(connection: BaseDatabaseWrapper, user_id: str, changes: Sequence[Change]) -> None:
    quote = connection.ops.quote_name
    sequence, event = quote(EventSequence._meta.db_table), quote(Event._meta.db_table)
    sql = (
        f"WITH numbers AS ({UPSERT.format(table=sequence)}) "  # noqa: S608 - table names and placeholders only
        f"INSERT INTO {event} (id, user_id, sequence, type, subject, time, data) "
        "SELECT v.id, %s, numbers.last - %s + v.n, v.type, v.subject, v.time, v.data "
        f"FROM numbers, (VALUES {', '.join([ROW] * len(changes))}) AS v (id, n, type, subject, time, data)"
    )
    params: list[Any] = [user_id, len(changes), user_id, len(changes)]
    for n, change in enumerate(changes, start=1):
        params += [uuid.uuid4(), n, change.type, change.subject, change.time, json.dumps(change.data)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
