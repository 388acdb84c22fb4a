"""The relay against the real NATS JetStream on 127.0.0.1:4222 (each test on a stream and subjects of its
own): order, exactly-once storage by message id, a failure mid-batch, two workers, a worker killed. The
broker going down is tests/events/test_nats_down.py."""

import gc
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from events import relay
from events.brokers import NatsPublisher
from events.models import Event
from events.sequencer import sequence_round
from tasks import services
from tests.conftest import USER_A, USER_B, concurrently
from tests.events.conftest import NATS_URL

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db


def relayed(publisher) -> int:
    """A round of the worker: number what waits, then relay a round."""
    while sequence_round():
        pass
    return relay.relay_round(publisher)


def test_events_go_to_their_topics_in_each_users_order_and_are_marked(stream):
    task = services.task_create(user_id=USER_A, title="Milk")
    services.task_create(user_id=USER_B, title="Theirs")
    services.task_toggle(user_id=USER_A, task_id=task.id)
    publisher = stream.publisher()
    try:
        assert relayed(publisher) == 3
        assert relayed(publisher) == 0
    finally:
        publisher.close()

    stored = stream.messages()
    assert not Event.objects.filter(published_at=None).exists()
    mine = [(topic, event["type"], int(event["sequence"])) for topic, _, event in stored if event["userid"] == USER_A]
    assert mine == [("task-events", "todo.task.created", 1), ("task-updates", "todo.task.created", 1),
                    ("task-events", "todo.task.completed", 2), ("task-updates", "todo.task.completed", 2)]  # fmt: skip
    first = Event.objects.get(user_id=USER_A, sequence=1)
    assert {message_id for _, message_id, event in stored if event["id"] == str(first.uuid)} == {
        f"{first.uuid}:task-events", f"{first.uuid}:task-updates"}  # fmt: skip
    assert stored[0][2]["data"]["task_data"]["title"] in {"Milk", "Theirs"}


def test_a_list_event_goes_to_task_updates_only(stream):
    services.lists.inbox(user_id=USER_A)
    publisher = stream.publisher()
    try:
        relayed(publisher)
    finally:
        publisher.close()

    assert [(topic, event["type"]) for topic, _, event in stream.messages()] == [("task-updates", "todo.list.created")]


def test_publishing_again_what_the_broker_stored_stores_nothing_more(stream):
    services.task_create(user_id=USER_A, title="once")
    publisher = stream.publisher()
    try:
        relayed(publisher)
        Event.objects.update(published_at=None)  # as if the relay died before marking them
        assert relayed(publisher) == 1
    finally:
        publisher.close()

    assert len(stream.messages()) == 2  # one per topic, not two


def test_a_failure_mid_batch_keeps_the_rest_for_later_in_order(stream):
    for title in ("a", "b", "c"):
        services.task_create(user_id=USER_A, title=title)
    real = stream.publisher()

    class FailsOnTheFifth:
        calls = 0

        def publish(self, topic, payload, *, message_id):
            self.calls += 1
            if self.calls == 5:
                raise TimeoutError
            return real.publish(topic, payload, message_id=message_id)

    try:
        assert relayed(FailsOnTheFifth()) == 2
        assert list(Event.objects.filter(published_at=None).values_list("sequence", flat=True)) == [3]
        assert relayed(real) == 1
    finally:
        real.close()

    sequences = [int(event["sequence"]) for topic, _, event in stream.messages() if topic == "task-events"]
    assert sequences == [1, 2, 3]


def test_prune_keeps_what_is_recent_and_what_a_broker_has_not_taken(settings):
    for title in ("old", "new"):
        services.task_create(user_id=USER_A, title=title)
    sequence_round()
    old, new = Event.objects.order_by("id")
    long_ago = timezone.now() - settings.EVENTS_RETENTION - timezone.timedelta(hours=1)
    Event.objects.filter(pk=old.pk).update(time=long_ago)

    settings.EVENTS_URL = NATS_URL
    assert relay.prune() == 0  # not published yet
    Event.objects.filter(pk=old.pk).update(published_at=long_ago)
    assert relay.prune() == 1
    settings.EVENTS_URL = ""
    Event.objects.filter(pk=new.pk).update(time=long_ago)
    assert relay.prune() == 1  # without a broker, by age
    services.task_create(user_id=USER_A, title="after")
    sequence_round()
    assert Event.objects.get().sequence == 3  # numbers are never given again


@pytest.mark.skipif("connection.vendor != 'postgresql'")  # one worker at a time on SQLite
@pytest.mark.django_db(transaction=True)
def test_two_workers_never_relay_one_event_twice(stream):
    users = [f"user-{n}" for n in range(6)]
    for user_id in users:
        for n in range(10):
            services.task_create(user_id=user_id, title=f"t{n}")
    duplicates = []

    def work():
        publisher = stream.publisher()

        class Counting:
            def publish(self, topic, payload, *, message_id):
                stored = publisher.publish(topic, payload, message_id=message_id)
                if not stored:
                    duplicates.append(message_id)
                return stored

        try:
            while relayed(Counting()):
                pass
        finally:
            publisher.close()

    errors = concurrently(work, work)

    assert (errors, duplicates) == ([], [])
    assert len(stream.messages()) == 6 * 10 * 2
    assert not Event.objects.filter(published_at=None).exists()


@pytest.mark.skipif("connection.vendor != 'postgresql'")  # the worker process needs the test database
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_batch_loses_nothing_and_stores_nothing_twice(stream):
    for n in range(30):
        services.task_create(user_id=f"user-{n % 3}", title=f"t{n}")
    services.task_create_many(user_id=USER_A, items=[{"title": f"bulk {n}"} for n in range(800)])
    database = connection.settings_dict
    env = {**os.environ, "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}",
           "EVENTS_URL": NATS_URL, "EVENTS_STREAM": stream.name, "EVENTS_SUBJECT_PREFIX": stream.prefix,
           "DJANGO_DEBUG": "true", "LOG_LEVEL": "WARNING"}  # fmt: skip

    worker = subprocess.Popen([sys.executable, "manage.py", "worker"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and stream.count() < 300:
            time.sleep(0.02)
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    assert Event.objects.filter(published_at=None).exists(), "the worker finished before it was killed"

    subprocess.run([sys.executable, "manage.py", "worker", "--once"], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL, timeout=120)  # fmt: skip

    total = Event.objects.count()
    ids = [message_id for _, message_id, _ in stream.messages()]
    assert len(ids) == len(set(ids)) == total * 2  # each event once on each of its two topics
    assert not Event.objects.filter(published_at=None).exists()


def test_a_broker_that_is_down_leaks_nothing_per_try(stream):
    """Each failed connect (the worker retries one each poll while the broker is down) leaves no task
    pending and no file descriptor open."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        down = f"nats://127.0.0.1:{probe.getsockname()[1]}"

    def try_once() -> None:
        with pytest.raises(Exception):  # noqa: B017, PT011 - whatever nats-py raises for a refused connection
            NatsPublisher(down, stream=stream.name, prefix=stream.prefix, timeout=0.2)

    try_once()
    gc.collect()
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(5):
        try_once()
    gc.collect()
    assert len(os.listdir("/proc/self/fd")) <= before
