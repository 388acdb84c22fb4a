"""What the events tests share: NATS JetStream at TEST_NATS_URL (default 127.0.0.1:4222), and a stream of
each test's own on it."""

import asyncio
import contextlib
import json
import os
import uuid

import nats
import pytest

from events.brokers import NatsPublisher

NATS_URL = os.environ.get("TEST_NATS_URL", "nats://127.0.0.1:4222")


class Stream:
    """A JetStream stream of this test's own, and what it stored."""

    def __init__(self) -> None:
        tag = uuid.uuid4().hex[:10]
        self.name, self.prefix = f"TEST_{tag}", f"test{tag}."

    def publisher(self, url: str = NATS_URL) -> NatsPublisher:
        return NatsPublisher(url, stream=self.name, prefix=self.prefix, timeout=2)

    def count(self) -> int:
        """How many messages it stored (0 before the relay made it)."""
        return self._read(lambda jetstream: self._count(jetstream))

    def messages(self) -> list[tuple[str, str, dict]]:
        """(topic, message id, the CloudEvent) of each stored message, in the stream's order."""

        async def read(jetstream) -> list[tuple[str, str, dict]]:
            stored = [await jetstream.get_msg(self.name, seq) for seq in range(1, await self._count(jetstream) + 1)]
            return [(m.subject.removeprefix(self.prefix), m.headers["Nats-Msg-Id"], json.loads(m.data)) for m in stored]

        return self._read(read)

    def delete(self) -> None:
        async def drop(jetstream) -> None:
            with contextlib.suppress(nats.js.errors.NotFoundError):
                await jetstream.delete_stream(self.name)

        self._read(drop)

    async def _count(self, jetstream) -> int:
        try:
            return (await jetstream.stream_info(self.name)).state.messages
        except nats.js.errors.NotFoundError:
            return 0

    def _read(self, function):
        async def connected():
            client = await nats.connect(NATS_URL)
            try:
                return await function(client.jetstream())
            finally:
                await client.close()

        return asyncio.run(connected())


@pytest.fixture
def stream(settings):
    """A stream of the test's own, which the settings name; deleted after the test."""
    made = Stream()
    settings.EVENTS_URL, settings.EVENTS_STREAM, settings.EVENTS_SUBJECT_PREFIX = NATS_URL, made.name, made.prefix
    yield made
    made.delete()
