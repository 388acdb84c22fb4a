"""A worker's warm-up before its first request (gunicorn's post_worker_init, todo_project/gunicorn.py).

What a fresh worker would otherwise do during its first seconds of traffic, with requests queued behind
it: import every view (the assistant's SDK among them) and build the URL resolver, load the translation
catalog, verify a token, connect to Redis (the throttle), and open one pooled database connection per
server thread, each running the hot statements often enough to be prepared on it (prepare_threshold).
Nothing is written: the statements run for a user that has no tasks. A failure (the database down at
boot) is logged and the worker starts anyway: the probes answer 503 until the database is back.
"""

import contextlib
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import connection
from django.urls import get_resolver
from django.utils.translation import gettext

from tasks import selectors, services
from tasks.exceptions import TaskNotFound
from todo_project.auth import mint_token, verify_token
from todo_project.throttling import redis_client

logger = logging.getLogger(__name__)
NOBODY = "warm-up"  # a user id no token names here: a token's subject comes from Better Auth
HOT_PATHS = ["/health", "/api/u/tasks", "/api/u/tasks/1", "/api/u/tasks/1/complete", "/api/u/chat"]


def warm_worker(threads: int) -> None:
    """Warm this process for `threads` server threads; never raises."""
    started = time.monotonic()
    try:
        resolver = get_resolver()
        for path in HOT_PATHS:
            resolver.resolve(path)
        gettext("Not found.")
        verify_token(mint_token(NOBODY, ttl=60))
        if settings.REDIS_URL:
            redis_client(settings.REDIS_URL).ping()
        _warm_connections(threads)
    except Exception:  # the worker serves anyway; what did not warm now warms on first use
        logger.warning("Worker warm-up incomplete", exc_info=True)
    else:
        logger.info("Worker warmed up in %.2f s", time.monotonic() - started)


def _warm_connections(threads: int) -> None:
    """One database connection per thread, held at once (so the pool opens that many), each running the hot
    statements more often than psycopg's prepare threshold."""
    runs = (settings.DATABASES["default"].get("OPTIONS", {}).get("prepare_threshold") or 0) + 1
    if connection.vendor != "postgresql":  # no pool and no prepared statements to warm (SQLite): one thread,
        threads = 1  # as concurrent writers there fail at once with "table is locked" instead of waiting
    together = threading.Barrier(threads, timeout=30)

    def warm() -> None:
        try:
            for _ in range(runs):
                _hot_statements()
            together.wait()  # every thread holds its connection until all have one
        except BaseException:
            together.abort()  # the others stop waiting
            raise
        finally:
            connection.close()  # back to the pool, prepared

    with ThreadPoolExecutor(threads) as pool:
        for future in [pool.submit(warm) for _ in range(threads)]:
            future.result()


def _hot_statements() -> None:
    """The statements of list, get, update and toggle, for a user without tasks (nothing matches)."""
    selectors.task_list_all(user_id=NOBODY)
    for statement in (
        lambda: selectors.task_get(user_id=NOBODY, task_id=1),
        lambda: services.task_update(user_id=NOBODY, task_id=1, title="warm-up"),
        lambda: services.task_set_completed(user_id=NOBODY, task_id=1, completed=None),
    ):
        with contextlib.suppress(TaskNotFound):
            statement()
