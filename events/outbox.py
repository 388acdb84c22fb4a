"""Writing events: `record` adds one user's changes to the outbox, in the transaction of the changes.

One INSERT per BATCH events, nothing else: no lock is taken, so the writes of a user never wait on
one another for their events. The worker's sequencer (events.sequencer) numbers them afterwards.

A write may instead insert its event in its own statement (tasks.speedups.update_recording), with a
provisional type whose data is the row as written; the sequencer turns it into the event proper, by the
function registered for that type here (`provisional`), before it numbers it: only numbered events
are read, so nothing ever sees one unfinished.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.transaction import TransactionManagementError

from events.models import Event

BATCH = 500
# Provisional type → what makes the event proper of its data: (type, data).
FINISHERS: dict[str, Callable[[dict[str, Any]], tuple[str, dict[str, Any]]]] = {}


@dataclass(frozen=True)
class Change:
    """What an event says: its CloudEvents type and subject, when, and its data (JSON-ready)."""

    type: str
    subject: str
    time: datetime
    data: dict[str, Any]


def record(user_id: str, changes: Sequence[Change], *, using: str = DEFAULT_DB_ALIAS) -> None:
    """Add the user's changes to the outbox, in this order. Only inside the changes' own transaction
    (`transaction.atomic`): an event exists if and only if its change committed."""
    if not changes:
        return
    if not connections[using].in_atomic_block:
        raise TransactionManagementError("Events are recorded in the transaction of their change.")
    Event.objects.using(using).bulk_create(
        (Event(user_id=user_id, type=change.type, subject=change.subject, time=change.time, data=change.data)
         for change in changes),
        batch_size=BATCH,
    )  # fmt: skip


def provisional(event_type: str, finish: Callable[[dict[str, Any]], tuple[str, dict[str, Any]]]) -> None:
    """Register what turns an event of this provisional type into its type and data proper."""
    FINISHERS[event_type] = finish
