"""What the async path's views share (todo_project/asgi.py routes them): the ORM from async code, and a
Server-Sent Events response that holds no thread.

- `database(fn)`: sync_to_async for ORM code, thread-sensitive as Django's own async ORM is, and the
  connection is given back when `fn` returns (to the pool, on PostgreSQL). A chat turn or an event stream
  awaits for seconds or hours between two queries; holding a connection meanwhile would drain the pool
  with a dozen of them.
- `event_stream_response(source, request)`: under the ASGI handler the response iterates the async stream
  on the event loop; under a WSGI server (runserver, the test client, `live_server`) the stream runs in a
  thread of its own, which sends each event as it is made (`stream_from_thread`).
"""

import asyncio
import contextlib
import contextvars
import functools
import logging
import queue
import threading
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, ParamSpec, TypeVar, cast

from asgiref.sync import AsyncToSync, SyncToAsync, async_to_sync, sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.db import connection, connections
from django.http import HttpRequest, StreamingHttpResponse

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")
_END = object()
logger = logging.getLogger(__name__)


def database(fn: Callable[P, R]) -> Callable[P, Awaitable[R]]:
    """`fn` (ORM code) as a coroutine function for async code; its connection is given back after each call
    (not inside a transaction, e.g. a test's)."""

    @functools.wraps(fn)
    def released(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        finally:
            if not connection.in_atomic_block:
                connection.close()

    return sync_to_async(released)


def stream_from_thread(
    source: Callable[[], AsyncIterable[T]],
    *,
    name: str,
    on_error: Callable[[Exception], T],
    cancel_on_close: bool = True,
) -> Iterator[T]:
    """Yield what the async stream `source()` yields, as it yields it; it runs in a thread of its own.

    async_to_sync runs the stream in that thread's event loop, so the ORM calls it makes through
    sync_to_async run in that thread, on its own connection, closed when the stream ends. An exception
    ends the stream with `on_error(exc)`. The thread starts when the first item is asked for; closing the
    iterator early (the client went away) cancels the stream where it waits, unless not `cancel_on_close`:
    then it runs to its end, its items dropped."""
    items: queue.Queue[object] = queue.Queue()
    running: list[tuple[asyncio.AbstractEventLoop, asyncio.Task[Any]]] = []
    stopped = threading.Event()

    def produce() -> None:
        async def pump() -> None:
            running.append((asyncio.get_running_loop(), cast("asyncio.Task[Any]", asyncio.current_task())))
            if stopped.is_set():
                return
            async for item in source():
                items.put(item)

        try:
            async_to_sync(pump)()
        except asyncio.CancelledError:
            pass  # the client went away
        except Exception as exc:
            items.put(on_error(exc))
        finally:
            connections.close_all()
            items.put(_END)

    def drain() -> Iterator[T]:
        threading.Thread(target=produce, name=name, daemon=True).start()
        try:
            while (item := items.get()) is not _END:
                yield cast(T, item)
        finally:  # closed early (the client went away)
            if cancel_on_close:
                stopped.set()
                for loop, task in running:
                    with contextlib.suppress(RuntimeError):  # the loop has closed: the stream has ended
                        loop.call_soon_threadsafe(task.cancel)

    return drain()


def event_stream_response(
    source: Callable[[], AsyncIterator[T]],
    request: HttpRequest,
    *,
    name: str,
    on_error: Callable[[Exception], T],
    finish: bool = False,
) -> StreamingHttpResponse:
    """A text/event-stream response of `source()`'s chunks that neither the client nor a proxy holds back.

    `finish`: the stream runs to its end even when the client goes away (a chat turn is stored whole);
    otherwise it stops where it waits."""
    if isinstance(getattr(request, "_request", request), ASGIRequest):  # a DRF Request wraps Django's
        chunks: Any = _guarded(lambda: detached(source()) if finish else source(), on_error)
    else:
        chunks = stream_from_thread(source, name=name, on_error=on_error, cancel_on_close=not finish)
    response = StreamingHttpResponse(chunks, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # let nginx pass each event on at once
    return response


async def _guarded(source: Callable[[], AsyncIterator[T]], on_error: Callable[[Exception], T]) -> AsyncIterator[T]:
    try:
        async for chunk in source():
            yield chunk
    except Exception as exc:
        yield on_error(exc)


_running: set[asyncio.Task[Any]] = set()  # the event loop holds its tasks weakly


def run_detached(work: Awaitable[R]) -> "asyncio.Task[R]":
    """`work` as a task that runs to its end even when the request that started it is cancelled (its
    client went away): `await asyncio.shield(run_detached(...))`."""
    context = contextvars.copy_context()
    context.run(_outside_the_request)
    task: asyncio.Task[R] = asyncio.get_running_loop().create_task(work, context=context)  # type: ignore[arg-type]
    _running.add(task)
    task.add_done_callback(_running.discard)
    return task


def _outside_the_request() -> None:
    """The request's threads (its ThreadSensitiveContext, the sync middleware's thread that called into
    the view) end with it: a task that outlives it sends its ORM calls to the event loop's own thread
    instead (asgiref's shared one, under uvicorn)."""
    SyncToAsync.thread_sensitive_context.set(None)  # type: ignore[arg-type]
    AsyncToSync.executors.current = None


async def detached(source: AsyncIterator[T]) -> AsyncIterator[T]:
    """`source`'s items, made by a task of its own that runs to its end even when this reader is
    cancelled (the client went away); what it makes then is dropped."""
    items: asyncio.Queue[Any] = asyncio.Queue()
    reading = True

    async def produce() -> None:
        try:
            async for item in source:
                items.put_nowait(item)
        except Exception as exc:
            if not reading:
                logger.error("A stream failed after its client went away", exc_info=exc)
            items.put_nowait(_Failed(exc))
        finally:
            items.put_nowait(_END)

    run_detached(produce())
    try:
        while (item := await items.get()) is not _END:
            if isinstance(item, _Failed):
                raise item.exc
            yield item
    finally:
        reading = False


class _Failed:
    def __init__(self, exc: Exception) -> None:
        self.exc = exc
