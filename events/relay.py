"""The relay: the outbox's pending events to the broker, each user's in order, each marked published
only after the broker stored it.

A round takes the users with the oldest pending (numbered, unpublished) events and, for each, that
user's pending events in sequence order: on PostgreSQL in a transaction that holds the user (an
advisory lock, so several workers share the users and never relay one event twice); SQLite has a
single worker, which holds no transaction while it publishes (there a transaction holds the
database's write lock, and the API's writes would wait on the broker). It publishes them one after
another and marks them published when the user's batch is done; a failure stops that user's batch
there, so a later event is never published before an earlier one. A relay killed between
publishing and marking publishes those events again after a restart: the broker keeps one of each,
by its message id (the event id and topic).
"""

import contextlib
import logging
import time
from collections.abc import Callable
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Min, Q
from django.utils import timezone

from events.brokers import Publisher
from events.cloudevent import structured_json
from events.models import Event
from events.sequencer import hold, sequence_round

logger = logging.getLogger("todo.events")
USERS_PER_ROUND = 50
EVENTS_PER_USER = 500


def topics(event_type: str) -> tuple[str, ...]:
    """The hackathon's topics an event goes to: a task's to task-events (the services that act on task
    operations) and task-updates (clients' sync); a list's or tag's to task-updates only."""
    return ("task-events", "task-updates") if event_type.startswith("todo.task.") else ("task-updates",)


def relay_round(publisher: Publisher) -> int:
    """One round; how many events it published."""
    users = (
        Event.objects.filter(published_at=None, sequence__isnull=False)
        .values("user_id")
        .annotate(oldest=Min("time"))
        .order_by("oldest")
        .values_list("user_id", flat=True)[:USERS_PER_ROUND]
    )
    published = sum(relay_user(publisher, user_id) for user_id in list(users))
    if published:
        logger.info("events published", extra={"published": published})
    return published


def relay_user(publisher: Publisher, user_id: str) -> int:
    # A transaction on PostgreSQL only: SQLite's are IMMEDIATE (they take its write lock), and a publish
    # that times out (NATS cut: 5 s) would hold the API's writes as long. Its one worker needs no hold;
    # the marking is one statement.
    with transaction.atomic() if connection.vendor == "postgresql" else contextlib.nullcontext():
        if not hold(user_id, "relay"):
            return 0  # another worker has this user now
        pending = Event.objects.filter(user_id=user_id, published_at=None, sequence__isnull=False)
        pending = pending.order_by("sequence")[:EVENTS_PER_USER]
        published: list[Event] = []
        try:
            for event in pending:
                payload = structured_json(event)
                for topic in topics(event.type):
                    publisher.publish(topic, payload, message_id=f"{event.uuid}:{topic}")
                published.append(event)
        except Exception:
            logger.warning("relay stopped for a user", exc_info=True, extra={"published": len(published)})
            if not published:
                raise
        Event.objects.filter(pk__in=[event.pk for event in published]).update(published_at=timezone.now())
    return len(published)


def backlog() -> dict[str, object]:
    """The events the worker has still to number or (with a broker) to publish: how many, and the
    oldest one's age in seconds (0 when none)."""
    waiting = Event.objects.filter(Q(sequence=None) | Q(published_at=None) if settings.EVENTS_URL else Q(sequence=None))
    oldest = waiting.order_by("time").values_list("time", flat=True).first()
    count = waiting.count() if oldest is not None else 0
    age = (timezone.now() - oldest).total_seconds() if oldest is not None else 0.0
    return {"pending": count, "oldest_seconds": round(age, 3)}


def prune(*, now: datetime | None = None) -> int:
    """Delete the events published more than EVENTS_RETENTION ago, or, without a broker (EVENTS_URL
    unset), the events that old. The sequence numbers stay taken."""
    cutoff = (now or timezone.now()) - settings.EVENTS_RETENTION
    old = Q(published_at__lt=cutoff) if settings.EVENTS_URL else Q(time__lt=cutoff)
    return Event.objects.filter(old).delete()[0]


def run(publisher_factory: Callable[[], Publisher] | None, *, poll: float, stop: Callable[[], bool]) -> None:
    """Number and relay (without a publisher factory: number) until `stop()`: a round whenever there is
    work, else a nap of `poll` seconds. A broker that is down is retried with the same nap; the outbox
    keeps everything meanwhile."""
    publisher: Publisher | None = None
    while not stop():
        try:
            worked = sequence_round()
            if publisher_factory is not None:
                publisher = publisher or publisher_factory()
                worked += relay_round(publisher)
            if worked:
                continue
        except Exception:
            logger.warning("relay round failed; retrying", exc_info=True)
            if publisher is not None:
                _close_quietly(publisher)
                publisher = None
        time.sleep(poll)
    if publisher is not None:
        _close_quietly(publisher)


def _close_quietly(publisher: Publisher) -> None:
    try:
        publisher.close()
    except Exception:
        logger.info("closing the broker's connection failed", exc_info=True)
