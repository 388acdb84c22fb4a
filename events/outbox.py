"""Writing events: `record` adds one user's changes to the outbox, in the transaction of the changes.

Each event takes the user's next sequence number from EventSequence (an upsert that locks the user's row
until the transaction ends, so numbers commit in order) and is inserted with it. The plain way is those
two statements; on PostgreSQL, events.speedups does both in one (what a write pays for its event: one
statement). Events are inserted BATCH at a time.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.transaction import TransactionManagementError

from events.models import Event, EventSequence

BATCH = 500


@dataclass(frozen=True)
class Change:
    """What an event says: its CloudEvents type and subject, when, and its data (JSON-ready)."""

    type: str
    subject: str
    time: datetime
    data: dict[str, Any]


def record(user_id: str, changes: Sequence[Change], *, using: str = DEFAULT_DB_ALIAS) -> None:
    """Add the user's changes to the outbox, numbered in this order. Only inside the changes' own
    transaction (`transaction.atomic`): an event exists if and only if its change committed."""
    if not changes:
        return
    connection = connections[using]
    if not connection.in_atomic_block:
        raise TransactionManagementError("Events are recorded in the transaction of their change.")
    from events import speedups  # the speed layer builds on this module

    for start in range(0, len(changes), BATCH):
        batch = changes[start : start + BATCH]
        if connection.vendor == "postgresql":
            speedups.record_in_one_statement(connection, user_id, batch)
        else:
            record_plain(connection, user_id, batch)


def record_plain(connection: BaseDatabaseWrapper, user_id: str, changes: Sequence[Change]) -> None:
    """Take the numbers, then insert the events: two statements, on any database."""
    last = take_numbers(connection, user_id, len(changes))
    first = last - len(changes) + 1
    Event.objects.using(connection.alias).bulk_create(
        Event(id=uuid.uuid4(), user_id=user_id, sequence=first + offset, type=change.type, subject=change.subject,
              time=change.time, data=change.data)
        for offset, change in enumerate(changes)
    )  # fmt: skip


def take_numbers(connection: BaseDatabaseWrapper, user_id: str, count: int) -> int:
    """Reserve `count` sequence numbers for the user's events; the last of them."""
    table = connection.ops.quote_name(EventSequence._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(UPSERT.format(table=table), [user_id, count])
        return int(cursor.fetchone()[0])


# PostgreSQL and SQLite (>= 3.35) alike: the user's row is made on their first event.
UPSERT = (
    "INSERT INTO {table} (user_id, last) VALUES (%s, %s) "
    "ON CONFLICT (user_id) DO UPDATE SET last = {table}.last + excluded.last RETURNING last"
)
