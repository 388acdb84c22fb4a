"""The live stream of one user's events (GET /api/<user_id>/events, events/views.py), from the outbox.

A stream sends the user's numbered events (only numbered ones, as everything that reads the outbox) in
their order, each with its sequence number as the Server-Sent Events `id`, so a client that reconnects
with `Last-Event-ID` gets what it missed from the outbox, then what comes next. It reads nothing of
another user: every query names the stream's user.

No stream polls the database: a `Hub` per event loop (per server process) does, once every
EVENTS_STREAM_POLL_SECONDS, for all the users it streams to at once (their EventSequence rows, one
query), and wakes the streams of the users whose last number moved; each reads its events after its
cursor then. A process streaming to nobody runs no query. While the database is away, streams keep
heartbeating and read on from their cursor when it is back: nothing is missed, nothing sent twice.
"""

import asyncio
import contextlib
import contextvars
import json
import logging
import time
import weakref
from collections.abc import AsyncIterator, Iterator
from typing import Any

from django.conf import settings
from django.db import DatabaseError

from events.cloudevent import structured_json
from events.models import Event, EventSequence
from todo_project.asynchronous import database

logger = logging.getLogger(__name__)
BATCH = 100  # events read (and sent) at a time, catching up
RETRY_MS = 2000  # the client's wait before it reconnects (the SSE `retry` field)
REASONS = ["token_expired", "reconnect", "server_error", "events_pruned", "unknown_event_id"]  # of end and reset


class Hub:
    """Wakes the streams of this event loop when their user's events move on (see the module's doc)."""

    _hubs: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub]" = weakref.WeakKeyDictionary()

    def __init__(self) -> None:
        self._wakes: dict[str, set[asyncio.Event]] = {}
        self._last: dict[str, int] = {}
        self._poller: asyncio.Task[None] | None = None
        self.failing = False
        self.closing = False

    @classmethod
    def here(cls) -> "Hub":
        """The hub of the running event loop."""
        loop = asyncio.get_running_loop()
        hub = cls._hubs.get(loop)
        if hub is None:
            hub = cls._hubs[loop] = cls()
        return hub

    @contextlib.contextmanager
    def watching(self, user_id: str) -> Iterator[asyncio.Event]:
        """An event set whenever `user_id`'s events may have moved on, for the `with` block's length."""
        wake = asyncio.Event()
        self._wakes.setdefault(user_id, set()).add(wake)
        if self._poller is None or self._poller.done():
            # A context of its own: the poller outlives the request that started it.
            self._poller = asyncio.get_running_loop().create_task(self._poll(), context=contextvars.Context())
        try:
            yield wake
        finally:
            wakes = self._wakes[user_id]
            wakes.discard(wake)
            if not wakes:
                del self._wakes[user_id]
                self._last.pop(user_id, None)

    @property
    def users(self) -> int:
        return len(self._wakes)

    def close(self) -> int:
        """The server is shutting down: every stream of this loop ends at once with `end` `reconnect`
        (its client reconnects, with Last-Event-ID, to a process that stays), instead of holding the
        shutdown until its graceful timeout. The number of streams told."""
        self.closing = True
        wakes = [wake for user_wakes in self._wakes.values() for wake in user_wakes]
        for wake in wakes:
            wake.set()
        return len(wakes)

    async def _poll(self) -> None:
        while self._wakes:
            await asyncio.sleep(settings.EVENTS_STREAM_POLL_SECONDS)
            users = list(self._wakes)
            try:
                lasts = await database(last_numbers)(users)
            except DatabaseError:
                if not self.failing:
                    logger.warning("The live stream cannot read the outbox; streams heartbeat until it is back")
                self.failing = True
                continue
            if self.failing:
                logger.info("The live stream reads the outbox again")
                self.failing = False
            for user_id, last in lasts.items():
                if self._last.get(user_id) != last and user_id in self._wakes:
                    self._last[user_id] = last
                    for wake in self._wakes[user_id]:
                        wake.set()


def end_streams() -> int:
    """End the running event loop's streams (Hub.close); todo_project.gunicorn's worker calls it as
    it shuts down."""
    hub = Hub._hubs.get(asyncio.get_running_loop())
    ended = hub.close() if hub is not None else 0
    if ended:
        logger.info("Shutting down: %d live streams told to reconnect", ended)
    return ended


def last_numbers(user_ids: list[str]) -> dict[str, int]:
    """Each user's last event number (a user without events has none)."""
    return dict(EventSequence.objects.filter(user_id__in=user_ids).values_list("user_id", "last"))


def last_number(user_id: str) -> int:
    return last_numbers([user_id]).get(user_id, 0)


def events_after(user_id: str, after: int, limit: int = BATCH) -> list[tuple[int, bytes]]:
    """The user's numbered events after number `after`, in order, as (sequence, CloudEvent JSON)."""
    rows = Event.objects.filter(user_id=user_id, sequence__gt=after).order_by("sequence")[:limit]
    return [(event.sequence or 0, structured_json(event)) for event in rows]


def frame(*, data: str | bytes, event: str | None = None, id: int | None = None) -> str:
    """One Server-Sent Event (`data` is one line of JSON)."""
    text = data.decode() if isinstance(data, bytes) else data
    head = (f"id: {id}\n" if id is not None else "") + (f"event: {event}\n" if event else "")
    return f"{head}data: {text}\n\n"


def control(event: str, **data: Any) -> str:
    return frame(event=event, data=json.dumps(data))


async def stream(
    user_id: str, *, after: int, reset: str | None, expires_at: float | None, ends_at: float
) -> AsyncIterator[str]:
    """The stream's chunks: the events after number `after`, then each new one as it is numbered, with a
    heartbeat comment after EVENTS_STREAM_HEARTBEAT_SECONDS of silence. It ends with an `end` event when
    the token expires (`expires_at`, a Unix time), or at `ends_at` (EVENTS_STREAM_MAX_SECONDS after it
    opened: a client that reconnects may land on another process), or when the server shuts down.
    `reset`: the client's Last-Event-ID cannot be resumed (why), so the stream starts with a `reset`
    event: the client reloads what it shows."""
    heartbeat = settings.EVENTS_STREAM_HEARTBEAT_SECONDS
    yield f"retry: {RETRY_MS}\n\n"
    if reset:
        yield control("reset", reason=reset, last_event_id=after)
    cursor, sent = after, time.monotonic()
    hub = Hub.here()
    with hub.watching(user_id) as wake:
        while True:
            wake.clear()  # before reading: a wake during the read is not lost
            try:
                batch = await database(events_after)(user_id, cursor)
            except DatabaseError:
                batch = None  # read again at the next wake or heartbeat
            for sequence, data in batch or ():
                if sequence != cursor + 1:  # numbers are given without gaps: these were pruned
                    yield control("reset", reason="events_pruned", last_event_id=cursor)
                yield frame(id=sequence, data=data)
                cursor, sent = sequence, time.monotonic()
            if batch is not None and len(batch) == BATCH:
                continue
            now = time.monotonic()
            expired = expires_at is not None and expires_at <= ends_at
            left = (expires_at if expires_at is not None and expired else ends_at) - time.time()
            if left <= 0 or hub.closing:
                reason = "token_expired" if expired and left <= 0 else "reconnect"
                yield control("end", reason=reason, last_event_id=cursor)
                return
            wait = min(left, max(0.0, heartbeat - (now - sent)))
            if batch is None:
                wait = min(wait, settings.EVENTS_STREAM_POLL_SECONDS * 4)
            try:
                await asyncio.wait_for(wake.wait(), timeout=wait)
            except TimeoutError:
                if time.monotonic() - sent >= heartbeat:
                    yield ": heartbeat\n\n"
                    sent = time.monotonic()
