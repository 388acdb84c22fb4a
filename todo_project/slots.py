"""Requests that last, bounded per worker process and per user.

Three kinds are long (docs/ARCHITECTURE.md, "Serving: two paths" and "Long requests: slots"):

- chat turns (and chat streams, ChatKit turns), on the async path: they wait on the event loop while the
  model answers, so the bound is memory and the provider's rate: CHAT_TURNS_PER_WORKER (256) in a worker,
  CHAT_TURNS_PER_USER (3) of one user's; beyond either, 503 with Retry-After. (Before the async path they
  held a thread each: with 8 ten-second streams on 2 workers x 8 threads, no list was answered for 7 s.)
- live streams, on the async path: EVENTS_STREAMS_PER_WORKER (503 beyond), EVENTS_STREAMS_PER_USER (429);
- heavy requests (bulk create, bulk-update, import, export), on the sync path's THREADS threads: up to 500
  or IMPORT_MAX_ROWS tasks each, and bulk-updates of one user wait on each other's row locks: with 16
  attacking threads, eight of them completing the same 500 repeating tasks held most of 16 threads for
  30-40 s each. HEAVY_REQUESTS_PER_WORKER (default half of THREADS) in flight in a worker keeps the other
  threads free for everything else (503 beyond); HEAVY_REQUESTS_PER_USER, 429 beyond, since the caller's
  own requests in flight are what it waits for, as with API_RATE.

Each kind has a `Pool`. Every refusal comes at once, before anything is read or written, and the client
sends the same request again. The bounds are per worker process (no shared state), so with
WEB_CONCURRENCY workers a user may have up to that many times a per-user bound at once.
"""

import logging
import threading
import weakref
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Generic, TypeVar

from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import APIException

T = TypeVar("T")
RETRY_AFTER_SECONDS = 2


class Busy(APIException):
    """A pool of this worker is full: 503, try again after Retry-After."""

    status_code: int = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The server is answering as many such requests as it can. Send yours again in a few seconds."
    default_code = "busy"
    wait = RETRY_AFTER_SECONDS  # DRF's handler turns it into Retry-After
    log_level = logging.WARNING  # backpressure, not a fault: todo_project.exceptions logs it so


class ChatBusy(Busy):
    default_detail = "The assistant is answering as many messages as it can. Send yours again in a few seconds."
    default_code = "chat_busy"


class ChatUserBusy(ChatBusy):
    """The caller has CHAT_TURNS_PER_USER turns in flight (another tab, a retry loop): 503, after Retry-After."""

    default_detail = (
        "The assistant is still answering your other messages (CHAT_TURNS_PER_USER at once). "
        "Send this one again when one of them is done."
    )
    default_code = "chat_turns_in_flight"


class StreamsBusy(Busy):
    default_detail = "This server has as many live streams open as it can. Connect again in a few seconds."
    default_code = "streams_busy"


class UserBusy(Busy):
    """The caller has as many requests of the pool in flight as one user may: 429, after Retry-After."""

    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_detail = (
        "Another bulk, import or export request of yours is still running (HEAVY_REQUESTS_PER_USER at once). "
        "Send this one again when it is done."
    )
    default_code = "heavy_requests_in_flight"


class Pool:
    """Slots for one kind of long request: `per_worker` in flight in this process, and, when
    `per_user` names a setting, that many per user. The settings are read at each take."""

    def __init__(
        self, *, per_worker: str, per_user: str | None = None, busy: type[Busy] = Busy,
        user_busy: type[Busy] = UserBusy,
    ) -> None:  # fmt: skip
        self.per_worker, self.per_user, self.busy, self.user_busy = per_worker, per_user, busy, user_busy
        self._lock = threading.Lock()
        self._in_flight = 0
        self._by_user: Counter[str] = Counter()

    def take(self, user_id: str | None = None) -> Callable[[], None]:
        """Take a slot or raise `busy` (the worker's pool is full) or `user_busy` (the user's share is);
        return the function that gives it back (once, however often called)."""
        counted = user_id if self.per_user is not None else None
        with self._lock:
            if counted is not None and self._by_user[counted] >= max(1, getattr(settings, self.per_user or "")):
                raise self.user_busy()
            if self._in_flight >= max(1, getattr(settings, self.per_worker)):
                raise self.busy()
            self._in_flight += 1
            if counted is not None:
                self._by_user[counted] += 1
        given_back = False

        def give_back() -> None:
            nonlocal given_back
            with self._lock:
                if given_back:
                    return
                given_back = True
                self._in_flight -= 1
                if counted is not None:
                    self._by_user[counted] -= 1
                    if not self._by_user[counted]:
                        del self._by_user[counted]

        return give_back

    def slot(self, user_id: str | None = None, *, needed: bool = True) -> "Slot":
        """A slot (none when not `needed`) for a `with` block; see `Slot`."""
        return Slot(self.take(user_id) if needed else None)


class Slot:
    """A slot given back when the `with` block ends, unless `stream()` handed it to the response body,
    which then gives it back when it is closed."""

    def __init__(self, give_back: Callable[[], None] | None) -> None:
        self._give_back = give_back

    def __enter__(self) -> "Slot":
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._give_back is not None:
            self._give_back()

    def stream(self, iterator: Iterator[T]) -> Iterator[T]:
        give_back, self._give_back = self._give_back, None
        return Holding(iterator, give_back) if give_back is not None else iterator

    def stream_async(self, iterator: AsyncIterator[T]) -> AsyncIterator[T]:
        give_back, self._give_back = self._give_back, None
        return AsyncHolding(iterator, give_back) if give_back is not None else iterator


class Holding(Generic[T]):
    """An iterator (a streamed response's body) that gives its slot back when it is exhausted or closed,
    whether or not it was ever started: the WSGI server closes every response, also one it never sent."""

    def __init__(self, iterator: Iterator[T], give_back: Callable[[], None]) -> None:
        self._iterator = iterator
        self._give_back = give_back

    def __iter__(self) -> "Holding[T]":
        return self

    def __next__(self) -> T:
        try:
            return next(self._iterator)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        try:
            close = getattr(self._iterator, "close", None)
            if close is not None:
                close()
        finally:
            self._give_back()


class AsyncHolding(AsyncIterator[T]):
    """`iterator`, giving its slot back (once) when it is exhausted, fails, is closed, or is garbage
    collected without ever being started."""

    def __init__(self, iterator: AsyncIterator[T], give_back: Callable[[], None]) -> None:
        self._iterator = iterator
        self._give_back = give_back
        weakref.finalize(self, give_back)

    def __aiter__(self) -> "AsyncHolding[T]":
        return self

    async def __anext__(self) -> T:
        try:
            return await self._iterator.__anext__()
        except BaseException:
            await self.aclose()
            raise

    async def aclose(self) -> None:
        try:
            close = getattr(self._iterator, "aclose", None)
            if close is not None:
                await close()
        finally:
            self._give_back()


class StreamsUserBusy(UserBusy):
    default_detail = "You have EVENTS_STREAMS_PER_USER live streams open already: close one first."
    default_code = "streams_in_flight"


CHAT_TURNS = Pool(
    per_worker="CHAT_TURNS_PER_WORKER", per_user="CHAT_TURNS_PER_USER", busy=ChatBusy, user_busy=ChatUserBusy
)
EVENT_STREAMS = Pool(
    per_worker="EVENTS_STREAMS_PER_WORKER",
    per_user="EVENTS_STREAMS_PER_USER",
    busy=StreamsBusy,
    user_busy=StreamsUserBusy,
)
HEAVY_REQUESTS = Pool(per_worker="HEAVY_REQUESTS_PER_WORKER", per_user="HEAVY_REQUESTS_PER_USER")
