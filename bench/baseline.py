"""The benchmark's baseline: a bare WSGI app, no framework, doing the list and get SQL over psycopg.

Served by the same gunicorn settings as the real app (see bench/run.py); it skips what a framework
adds (routing, authentication, serializers, middleware), so the ratio measures that overhead.
"""

import json
import os
import re
from datetime import datetime

from psycopg_pool import ConnectionPool

COLUMNS = "id, user_id, title, description, completed, created_at, updated_at"
TASK_PATH = re.compile(r"^/api/(?P<user>[^/]+)/tasks(?:/(?P<id>[0-9]+))?/?$")
KEYS = ("id", "user_id", "title", "description", "completed", "created_at", "updated_at")

pool = ConnectionPool(
    os.environ["BASELINE_DATABASE_URL"],
    min_size=int(os.environ.get("DB_POOL_MIN_SIZE", "10")),
    max_size=int(os.environ.get("DB_POOL_MAX_SIZE", "30")),
    open=False,
)


def _task(row: tuple) -> dict:
    task = dict(zip(KEYS, row, strict=True))
    for key in ("created_at", "updated_at"):
        task[key] = task[key].isoformat().replace("+00:00", "Z") if isinstance(task[key], datetime) else task[key]
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
                f"SELECT {COLUMNS} FROM tasks_task WHERE id = %s AND user_id = %s",  # noqa: S608
                (int(match["id"]), match["user"]),
            ).fetchone()
            body: object = _task(row) if row else None
        else:
            rows = connection.execute(
                f"SELECT {COLUMNS} FROM tasks_task WHERE user_id = %s ORDER BY created_at DESC, id DESC",  # noqa: S608
                (match["user"],),
            ).fetchall()
            body = [_task(row) for row in rows]
    if body is None:
        start_response("404 Not Found", [("Content-Type", "application/json")])
        return [b'{"detail": "Not found."}']
    payload = json.dumps(body).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
    return [payload]
