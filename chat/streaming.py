"""Streaming a turn over WSGI: an async stream run in a thread of its own, sent as Server-Sent Events."""

import queue
import threading
from collections.abc import AsyncIterable, Callable, Iterator
from typing import TypeVar, cast

from asgiref.sync import async_to_sync
from django.db import connections
from django.http import StreamingHttpResponse

T = TypeVar("T")
_END = object()


def stream_from_thread(
    source: Callable[[], AsyncIterable[T]], *, name: str, on_error: Callable[[Exception], T]
) -> Iterator[T]:
    """Yield what the async stream `source()` yields, as it yields it; it runs in a thread of its own.

    async_to_sync runs the stream in that thread's event loop, so the ORM calls it makes through
    sync_to_async run in that thread, on its own connection, closed when the stream ends. An exception
    ends the stream with `on_error(exc)`. The thread starts when the first item is asked for."""
    items: queue.Queue[object] = queue.Queue()

    def produce() -> None:
        async def pump() -> None:
            async for item in source():
                items.put(item)

        try:
            async_to_sync(pump)()
        except Exception as exc:
            items.put(on_error(exc))
        finally:
            connections.close_all()
            items.put(_END)

    def drain() -> Iterator[T]:
        threading.Thread(target=produce, name=name, daemon=True).start()
        while (item := items.get()) is not _END:
            yield cast(T, item)

    return drain()


def event_stream_response(chunks: Iterator[str] | Iterator[bytes]) -> StreamingHttpResponse:
    """A text/event-stream response that neither the client nor a proxy holds back."""
    response = StreamingHttpResponse(chunks, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # let nginx pass each event on at once
    return response
