"""The sequencer: each user's events numbered 1, 2, 3, … in the order they were inserted, by the worker.

Numbers are given only to committed events, so a reader that has seen number n of a user will never see
a new event below n: the property that resuming from a number (a stream's Last-Event-ID) relies on. An
event inserted earlier but committed later than one already numbered gets the next number: the two
were writes of different rows (a task's writes wait on its row lock, so they commit in insertion order).
A round holds each user it numbers (on PostgreSQL an advisory lock: several workers share the users).
What follows from a numbered event exactly once (a webhook's delivery) hangs on events.signals.numbered.
"""

from django.db import connection, transaction

from events import signals
from events.models import Event, EventSequence
from events.outbox import FINISHERS

USERS_PER_ROUND = 100
EVENTS_PER_USER = 5000


def sequence_round() -> int:
    """Number the waiting events of up to USERS_PER_ROUND users; how many were numbered."""
    users = Event.objects.filter(sequence=None).values_list("user_id", flat=True).distinct()[:USERS_PER_ROUND]
    return sum(sequence_user(user_id) for user_id in list(users))


def sequence_user(user_id: str) -> int:
    with transaction.atomic():
        if not hold(user_id, "sequencer"):
            return 0
        unnumbered = Event.objects.filter(user_id=user_id, sequence=None).order_by("id")
        rows = list(unnumbered.values_list("id", "type")[:EVENTS_PER_USER])
        if not rows:
            return 0
        waiting = [event_id for event_id, _ in rows]
        finish([event_id for event_id, event_type in rows if event_type in FINISHERS])
        first = take_numbers(user_id, len(waiting)) - len(waiting) + 1
        numbered = [Event(id=event_id, sequence=first + offset) for offset, event_id in enumerate(waiting)]
        Event.objects.bulk_update(numbered, ["sequence"], batch_size=500)
        signals.numbered.send(sender=Event, user_id=user_id, event_ids=waiting)
    return len(waiting)


def finish(event_ids: list[int]) -> None:
    """These provisional events made events proper (events.outbox.FINISHERS), before anyone reads them:
    readers read numbered events only."""
    if not event_ids:
        return
    unfinished = list(Event.objects.filter(id__in=event_ids))
    for event in unfinished:
        event.type, event.data = FINISHERS[event.type](event.data)
    Event.objects.bulk_update(unfinished, ["type", "data"], batch_size=500)


def take_numbers(user_id: str, count: int) -> int:
    """Reserve `count` sequence numbers for the user's events; the last of them."""
    table = connection.ops.quote_name(EventSequence._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(UPSERT.format(table=table), [user_id, count])
        return int(cursor.fetchone()[0])


# PostgreSQL and SQLite (>= 3.35) alike: the user's row is made with their first number.
UPSERT = (
    "INSERT INTO {table} (user_id, last) VALUES (%s, %s) "
    "ON CONFLICT (user_id) DO UPDATE SET last = {table}.last + excluded.last RETURNING last"
)


def hold(user_id: str, role: str) -> bool:
    """Whether this transaction now holds the user for `role` (released when it ends). SQLite: one worker."""
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(hashtextextended(%s, 0))", [f"todo.events.{role}:{user_id}"])
        return bool(cursor.fetchone()[0])
