"""Where the time of one request goes, stage by stage, in-process (no server, no load generator).

    .venv/bin/python bench/breakdown.py   # after `make bench` has prepared BENCH_DATABASE_URL

Each line is the best of three batches, in microseconds per call: token verification, the ORM
query, rendering, and the whole request through Django's WSGI handler.
"""

import io
import os
import secrets
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def per_call(function, calls: int) -> float:
    function()
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for _ in range(calls):
            function()
        best = min(best, (time.perf_counter() - started) / calls * 1e6)
    return best


def main() -> None:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="todo_project.settings",
        DATABASE_URL=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/todo_bench"),
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(48),
        BETTER_AUTH_SECRET=secrets.token_urlsafe(48),
        DJANGO_ALLOWED_HOSTS="localhost",
        LOG_LEVEL="ERROR",
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.handlers.wsgi import WSGIHandler
    from django.db import connection
    from rest_framework.renderers import JSONRenderer

    from tasks import selectors
    from tasks.serializers import TaskSerializer
    from todo_project.auth import mint_token, verify_token

    user = "bench-reader-1"
    task_id = selectors.task_list(user_id=user).first().id
    token = mint_token(user)
    handler = WSGIHandler()

    def request(path: str) -> None:
        environ = {
            "REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": "", "SERVER_NAME": "localhost",
            "SERVER_PORT": "80", "wsgi.input": io.BytesIO(), "wsgi.url_scheme": "http",
            "HTTP_AUTHORIZATION": f"Bearer {token}",
        }  # fmt: skip
        response = handler(environ, lambda status, headers: None)
        b"".join(response)
        response.close()

    task = selectors.task_get(user_id=user, task_id=task_id)
    tasks = list(selectors.task_list(user_id=user))
    columns = "id, user_id, title, description, completed, created_at, updated_at"
    stages = [
        ("verify an HS256 token", lambda: verify_token(token), 2000),
        ("SELECT 1 through Django", lambda: connection.cursor().execute("SELECT 1").fetchone(), 1000),
        ("get: the same SQL, raw cursor", lambda: connection.cursor().execute(
            f"SELECT {columns} FROM tasks_task WHERE id = %s AND user_id = %s", [task_id, user]).fetchone(), 1000),  # noqa: S608
        ("get: the ORM queryset, built each time", lambda: list(
            selectors.task_list(user_id=user).filter(pk=task_id).order_by()), 1000),
        ("get: task_get (compiled query)", lambda: selectors.task_get(user_id=user, task_id=task_id), 1000),
        ("get: render one task", lambda: JSONRenderer().render(TaskSerializer(task).data), 2000),
        ("get: whole request (WSGI)", lambda: request(f"/api/{user}/tasks/{task_id}"), 500),
        ("list: the ORM queryset, 50 rows", lambda: list(selectors.task_list(user_id=user)), 300),
        ("list: task_list_all (compiled query)", lambda: selectors.task_list_all(user_id=user), 300),
        ("list: render 50 tasks", lambda: JSONRenderer().render(TaskSerializer(tasks, many=True).data), 500),
        ("list: whole request (WSGI)", lambda: request(f"/api/{user}/tasks"), 300),
        ("health: whole request (WSGI)", lambda: request("/health"), 500),
    ]  # fmt: skip
    for name, function, calls in stages:
        print(f"{name:<34} {per_call(function, calls):8.0f} µs")  # noqa: T201


if __name__ == "__main__":
    main()
