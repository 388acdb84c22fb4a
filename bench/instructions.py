"""Instructions per request, in-process, under valgrind: a measure this VM's noisy clock cannot swing.

    valgrind --tool=callgrind --callgrind-out-file=/dev/null .venv/bin/python bench/instructions.py get 0
    valgrind --tool=callgrind --callgrind-out-file=/dev/null .venv/bin/python bench/instructions.py get 200

The difference of the two totals ("Collected"), divided by 200, is what one request costs the app's
process (the database server's work is not counted: the SQL is the same on both sides of a
comparison). Run it from each checkout to compare two revisions; needs the benchmark's database
(`make bench` prepares BENCH_DATABASE_URL).
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PATHS = {
    "get": "/api/{user}/tasks/{task}",
    "list": "/api/{user}/tasks",
    "health": "/health",
    "list-one-list": "/api/{user}/tasks?list={list}",
    "filtered": "/api/{user}/tasks?completed=false",
}


def main() -> None:
    scenario, count = sys.argv[1], int(sys.argv[2])
    os.environ.update(
        DJANGO_SETTINGS_MODULE="todo_project.settings",
        DATABASE_URL=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/todo_bench"),
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY="instructions-" + "x" * 40,
        BETTER_AUTH_SECRET="instructions-" + "y" * 40,
        DJANGO_ALLOWED_HOSTS="localhost",
        LOG_LEVEL="ERROR",
        API_RATE="100000000/min",
        REDIS_URL=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"),  # the throttle counters
        DB_PREPARED_STATEMENTS="false",  # the same statements on every run, whatever the count
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.test import Client

    from tasks.models import Task
    from todo_project.auth import mint_token

    user = "bench-reader-1"
    task = Task.objects.filter(user_id=user, deleted_at=None).order_by("id").values_list("id", flat=True).first()
    if task is None:
        sys.exit("Run make bench once first: it seeds bench-reader-1.")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {mint_token(user, ttl=3600)}", HTTP_HOST="localhost")
    bench_list = None
    if scenario == "list-one-list":  # bench/run.py's list of every other task
        from tasks.models import TaskList

        bench_list = TaskList.objects.filter(user_id=user, name="Bench list").values_list("id", flat=True).first()
    path = PATHS[scenario].format(user=user, task=task, list=bench_list)
    for _ in range(5):  # warm: imports, the URLconf, compiled queries, the connection
        if client.get(path).status_code != 200:
            sys.exit(f"{path} does not answer 200.")
    for _ in range(count):
        client.get(path)


if __name__ == "__main__":
    main()
