"""Where the relay publishes: the Publisher interface, and NATS JetStream behind it (nats-py).

A Publisher takes one message at a time and returns only once the broker has stored it (or raises):
that is what lets the relay mark an event published. A Kafka backend (the hackathon's choice) would be
another class with these two methods; none is here, since no Kafka broker runs here to test one against.
"""

import asyncio
import logging
import threading
from collections.abc import Coroutine
from typing import Any, Protocol, TypeVar

import nats
from nats.js.api import StreamConfig
from nats.js.errors import BadRequestError

T = TypeVar("T")
logger = logging.getLogger(__name__)
TOPICS = ("task-events", "task-updates", "reminders")  # the hackathon's topics, as subjects


class Publisher(Protocol):
    def publish(self, topic: str, payload: bytes, *, message_id: str) -> bool:
        """Store the message on the topic; False when the broker already had this message id."""
        ...

    def close(self) -> None: ...


class NatsPublisher:
    """JetStream, from synchronous code: nats-py runs on an event loop of its own, in a daemon thread,
    so the connection answers the server's pings whatever the caller does meanwhile. The stream (made
    or updated on connect) holds the topics, each as `prefix + topic`; a message id seen within
    `duplicate_window` seconds is stored once (JetStream's Nats-Msg-Id deduplication)."""

    def __init__(self, url: str, *, stream: str, prefix: str = "", duplicate_window: float = 900,
                 timeout: float = 5) -> None:  # fmt: skip
        self.prefix, self.timeout = prefix, timeout
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="nats", daemon=True)
        self._thread.start()
        config = StreamConfig(name=stream, subjects=[prefix + topic for topic in TOPICS],
                              duplicate_window=duplicate_window)  # fmt: skip
        try:
            self._connection = self._run(nats.connect(url, connect_timeout=timeout, max_reconnect_attempts=-1,
                                                      allow_reconnect=True, error_cb=_connection_error))  # fmt: skip
            self._jetstream = self._connection.jetstream(timeout=timeout)
            self._run(self._stream(config))
        except BaseException:
            self._stop()
            raise

    async def _stream(self, config: StreamConfig) -> None:
        try:
            await self._jetstream.add_stream(config)
        except BadRequestError:  # it exists: make it what this code wants
            await self._jetstream.update_stream(config)

    def publish(self, topic: str, payload: bytes, *, message_id: str) -> bool:
        ack = self._run(self._jetstream.publish(self.prefix + topic, payload, timeout=self.timeout,
                                                headers={"Nats-Msg-Id": message_id}))  # fmt: skip
        return not ack.duplicate

    def close(self) -> None:
        try:
            self._run(self._connection.drain())
        except Exception:  # e.g. reconnecting, after the broker went away: closed without draining
            self._run(self._connection.close())
            raise
        finally:
            self._stop()

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(self.timeout * 3)

    def _stop(self) -> None:
        """Stop the loop and close it: what the client left running (a connect still retrying, its reader
        and pinger) cancelled first, so that a broker that is down leaks no task and no descriptor per try."""
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        if self._thread.is_alive():
            return
        pending = asyncio.all_tasks(self._loop)
        for task in pending:
            task.cancel()
        if pending:  # (gather() of nothing would belong to this thread's loop, not the publisher's)
            self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self._loop.close()


async def _connection_error(error: Exception) -> None:
    """nats-py's default logs each failed (re)connect as an ERROR with its traceback, every few seconds of
    an outage; the relay's own warning says what it means for the events (they wait in the outbox)."""
    logger.warning("NATS: %s: %s", type(error).__name__, error)
