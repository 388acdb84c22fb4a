"""The benchmark's baseline: a bare WSGI app, no framework, doing the list and get SQL over psycopg.

Served by the same gunicorn settings as the real app (see bench/run.py); it skips what a framework
adds (routing, authentication, serializers, middleware), so the ratio measures that overhead.
It runs the same SQL as the app (every field of a task, its tag names from the same correlated
subquery, live tasks only) and answers the same JSON: bench/run.py compares both answers before it
measures, so neither side does work the other skips.
"""

import json
import os
import re
from datetime import UTC, datetime

from a2wsgi import WSGIMiddleware
from psycopg_pool import ConnectionPool

from tasks.fields import PUBLIC_NAMES

KEYS = PUBLIC_NAMES  # what the app answers for a task, in its order
TAGS = (
    '(SELECT JSONB_AGG(t."name") FROM "tasks_task_tags" l INNER JOIN "tasks_tag" t ON t."id" = l."tag_id" '
    'WHERE l."task_id" = "tasks_task"."id")'
)
COLUMNS = ", ".join(TAGS if key == "tags" else key for key in KEYS)
LIVE = "deleted_at IS NULL"
TASK_PATH = re.compile(r"^/api/(?P<user>[^/]+)/tasks(?:/(?P<id>[0-9]+))?/?$")
PRIORITY_NAMES = {0: "none", 1: "low", 2: "medium", 3: "high"}

pool = ConnectionPool(
    os.environ["BASELINE_DATABASE_URL"],
    min_size=int(os.environ.get("DB_POOL_MIN_SIZE", "10")),
    max_size=int(os.environ.get("DB_POOL_MAX_SIZE", "30")),
    open=False,
)


def _task(row: tuple) -> dict:
    task = dict(zip(KEYS, row, strict=True))
    for key in ("created_at", "updated_at", "due_at", "completed_at"):
        if isinstance(task[key], datetime):
            task[key] = task[key].astimezone(UTC).isoformat().replace("+00:00", "Z")
    task["priority"] = PRIORITY_NAMES[task["priority"]]
    task["tags"] = sorted(task["tags"] or [])
    return task


def app(environ: dict, start_response) -> list[bytes]:
    match = TASK_PATH.match(environ["PATH_INFO"])
    if environ["REQUEST_METHOD"] != "GET" or not match:
        start_response("404 Not Found", [("Content-Type", "application/json")])
        return [b'{"detail": "Not found."}']
    if pool.closed:
        pool.open()
    with pool.connection() as connection:
        if match["id"]:
            row = connection.execute(
                f"SELECT {COLUMNS} FROM tasks_task WHERE id = %s AND user_id = %s AND {LIVE}",  # noqa: S608
                (int(match["id"]), match["user"]),
            ).fetchone()
            body: object = _task(row) if row else None
        else:
            rows = connection.execute(
                f"SELECT {COLUMNS} FROM tasks_task WHERE user_id = %s AND {LIVE} ORDER BY created_at DESC, id DESC",  # noqa: S608
                (match["user"],),
            ).fetchall()
            body = [_task(row) for row in rows]
    if body is None:
        start_response("404 Not Found", [("Content-Type", "application/json")])
        return [b'{"detail": "Not found."}']
    payload = json.dumps(body).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
    return [payload]


# Under the same server as the app (todo_project/gunicorn.py runs ASGI): the WSGI app in a pool of threads,
# as todo_project/asgi.py runs the plain API.
asgi_app = WSGIMiddleware(app, workers=int(os.environ.get("THREADS", "8")))
