"""How many chat turns one worker process runs at once.

A turn holds its server thread for as long as the model answers: seconds, and a stream for its whole
length. gunicorn's gthread worker accepts connections whatever its threads are doing, so a worker
whose every thread waits on a model queues the next list or get behind those answers: in the
benchmark, with 8 ten-second streams on 2 workers x 8 threads, no list was answered for 7 s
(bench/RESULTS.md). Holding turns to CHAT_TURNS_PER_WORKER (default: half of THREADS) keeps threads
free for everything else. A turn beyond it is refused at once, before anything is stored: 503 with
Retry-After, and the client sends the same message again.
"""

import logging
import threading
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import APIException

T = TypeVar("T")
RETRY_AFTER_SECONDS = 2

_lock = threading.Lock()
_semaphores: dict[int, threading.BoundedSemaphore] = {}


class ChatBusy(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The assistant is answering as many messages as it can. Send yours again in a few seconds."
    default_code = "chat_busy"
    wait = RETRY_AFTER_SECONDS  # DRF's handler turns it into Retry-After
    log_level = logging.WARNING  # backpressure, not a fault: todo_project.exceptions logs it so


def _slots() -> threading.BoundedSemaphore:
    size = max(1, settings.CHAT_TURNS_PER_WORKER)
    with _lock:
        if size not in _semaphores:
            _semaphores[size] = threading.BoundedSemaphore(size)
        return _semaphores[size]


def take() -> Callable[[], None]:
    """Take a slot or raise ChatBusy; return the function that gives it back (once, however often called)."""
    slots = _slots()
    if not slots.acquire(blocking=False):
        raise ChatBusy()
    given_back = threading.Event()

    def give_back() -> None:
        with _lock:
            if given_back.is_set():
                return
            given_back.set()
        slots.release()

    return give_back


class Turn:
    """A slot for one chat turn (none when not `needed`), given back when the `with` block ends,
    unless `stream()` handed it to the response body, which then gives it back when it is closed."""

    def __init__(self, *, needed: bool = True) -> None:
        self._give_back: Callable[[], None] | None = take() if needed else None

    def __enter__(self) -> "Turn":
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._give_back is not None:
            self._give_back()

    def stream(self, iterator: Iterator[T]) -> Iterator[T]:
        give_back, self._give_back = self._give_back, None
        return Holding(iterator, give_back) if give_back is not None else iterator


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
