"""Several workers at once (PostgreSQL, where they share the task queue with SKIP LOCKED and the users
with advisory locks): every event reaches every webhook exactly once."""

import time

import pytest
from django.db import connection

from events.models import Event
from events.sequencer import sequence_round
from tasks import services as tasks
from tests.conftest import concurrently
from webhooks import services
from webhooks.models import Delivery
from webhooks.worker import run_ready

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="SQLite runs one worker"),
]


def test_two_workers_deliver_each_message_once(receiver):
    users = [f"user-{n}" for n in range(4)]
    for user_id in users:
        services.webhook_create(user_id=user_id, url=receiver.url(f"/{user_id}/one"))
        services.webhook_create(user_id=user_id, url=receiver.url(f"/{user_id}/two"))
        for n in range(15):
            tasks.task_create(user_id=user_id, title=f"t{n}")
    receiver.answer(*[500] * 10)  # some first attempts fail and are retried by whichever worker

    def worker() -> None:
        deadline = time.monotonic() + 60
        while Event.objects.filter(sequence=None).exists() or Delivery.objects.filter(status="pending").exists():
            assert time.monotonic() < deadline, "timed out"
            sequence_round()
            run_ready()

    assert concurrently(worker, worker) == []
    expected = len(users) * 15 * 2
    delivered = [got.headers["webhook-id"] for got in receiver.received if got.headers["webhook-id"]]
    assert Delivery.objects.filter(status="delivered").count() == expected
    assert len(set(delivered)) == expected
    assert len(delivered) == expected + 10  # the failed attempts' retries, nothing else twice
    for got in receiver.received:  # each message went to its own webhook, with its user's event
        assert got.path.startswith(f"/{got.event['userid']}/")
    assert connection.vendor == "postgresql"
