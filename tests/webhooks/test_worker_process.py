"""`manage.py worker`, the process: it numbers, delivers and retries on its own, and a SIGTERM stops it
after the attempts under way (PostgreSQL: the process needs the test's database, committed)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from tasks import services as tasks
from tests.conftest import USER_A
from webhooks import services
from webhooks.models import Delivery

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="the worker process needs the test database"),
]


def worker_env() -> dict[str, str]:
    database = connection.settings_dict
    url = f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
    return {**os.environ, "DATABASE_URL": url, "EVENTS_URL": "", "DJANGO_DEBUG": "true", "LOG_LEVEL": "WARNING",
            "WEBHOOK_ALLOW_PRIVATE_TARGETS": "true", "WEBHOOK_BACKOFF_SECONDS": "0.1",
            "WEBHOOK_BACKOFF_CAP_SECONDS": "0.2", "EVENTS_POLL_SECONDS": "0.05"}  # fmt: skip


def test_the_worker_delivers_retries_and_stops_on_sigterm(receiver):
    receiver.answer(500)
    services.webhook_create(user_id=USER_A, url=receiver.url())
    for n in range(5):
        tasks.task_create(user_id=USER_A, title=f"t{n}")
    worker = subprocess.Popen([sys.executable, "manage.py", "worker"], cwd=ROOT, env=worker_env(),
                              stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while Delivery.objects.filter(status="delivered").count() < 5:
            assert time.monotonic() < deadline, "the worker did not deliver"
            time.sleep(0.05)
        tasks.task_create(user_id=USER_A, title="one more, while it runs")
        while Delivery.objects.filter(status="delivered").count() < 6:
            assert time.monotonic() < deadline, "the worker did not deliver the later event"
            time.sleep(0.05)
    finally:
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=30)
    assert worker.returncode == 0
    assert "Stopped." in output
    assert len(receiver.received) == 7  # one retry after the 500
    assert len(set(receiver.ids())) == 6


def test_worker_once_delivers_what_is_due(receiver):
    services.webhook_create(user_id=USER_A, url=receiver.url())
    tasks.task_create(user_id=USER_A, title="a")
    done = subprocess.run([sys.executable, "manage.py", "worker", "--once"], cwd=ROOT, env=worker_env(),
                          capture_output=True, text=True, timeout=60, check=True)  # fmt: skip
    assert "Numbered 1" in done.stdout
    assert len(receiver.received) == 1
    assert Delivery.objects.get().status == "delivered"
