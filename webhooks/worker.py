"""The delivery side of `manage.py worker`: threads running django-tasks-db's own worker loop over the
task queue (webhook attempts today; reminders next), each with its own database connection."""

import logging
import threading
import time

from django.db import connection
from django.utils.crypto import get_random_string
from django_tasks_db.management.commands.db_worker import Worker

logger = logging.getLogger(__name__)


def task_worker(*, batch: bool, interval: float) -> Worker:
    return Worker(
        queue_names=["*"], interval=interval, batch=batch, backend_name="default", startup_delay=False,
        max_tasks=None, worker_id=get_random_string(32), excluded_queue_names=[],
    )  # fmt: skip


def run_ready() -> None:
    """Run every task that is due now, here, and return (the worker's --once; the tests)."""
    task_worker(batch=True, interval=0).run()


class TaskThreads:
    """`count` threads taking due tasks until stop(), which waits for the attempts under way to end."""

    def __init__(self, count: int, *, interval: float) -> None:
        self.workers = [task_worker(batch=False, interval=interval) for _ in range(count)]
        self.threads = [
            threading.Thread(target=self._run, args=(worker,), name=f"tasks-{n}", daemon=True)
            for n, worker in enumerate(self.workers)
        ]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def stop(self) -> None:
        for worker in self.workers:
            worker.running = False
        for thread in self.threads:
            thread.join()

    @staticmethod
    def _run(worker: Worker) -> None:
        try:
            while worker.running:
                try:
                    worker.run()
                except Exception:
                    logger.warning("task worker round failed; retrying", exc_info=True)
                    if worker.running:
                        time.sleep(1)
        finally:
            connection.close()
