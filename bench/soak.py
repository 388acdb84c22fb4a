"""The soak test: SOAK_SECONDS (default 300) of mixed load against the production server.

    make soak                   # 5 minutes
    make soak SOAK_SECONDS=30   # a quick look

Resets the `todo_soak` database (SOAK_DATABASE_URL), seeds SOAK_USERS (300) users with 20 tasks,
starts gunicorn as `make serve` does (DJANGO_DEBUG=false, WEB_CONCURRENCY x THREADS, Redis db 12
for the throttles) and drives it with wrk and bench/soak.lua: 90 % valid requests across every
user (list, get, create, update, toggle, delete, chat, streaming chat) and 10 % invalid ones
(bad and expired tokens, another user's path, another user's task, invalid and oversized bodies).

The throttles keep their production rates (API_RATE 1200/min, CHAT_RATE 20/min per user): the
load spreads evenly over the users, far below both, so a 429 on a valid request is an error.

Fails (exit 1) on any valid request without a 2xx, any invalid request without its expected
status, any 5xx or socket error, a worker restarted, or a worker's memory grown by more than 10 %
between the end of the warm-up and the end of the run.
"""

import fcntl
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from psycopg import sql
from run import APP, ROOT, log, server  # bench/run.py

SECONDS = int(os.environ.get("SOAK_SECONDS", "300"))
WARMUP = min(20, SECONDS // 15 * 5)  # a multiple of the 5 s sampling
USERS = int(os.environ.get("SOAK_USERS", "300"))
TASKS_PER_USER = 20
DATABASE_URL = os.environ.get("SOAK_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/todo_soak")
REDIS_URL = os.environ.get("SOAK_REDIS_URL", "redis://127.0.0.1:6379/12")
PORT = int(os.environ.get("SOAK_PORT", "8102"))
WORKERS = int(os.environ.get("WEB_CONCURRENCY", "2"))
THREADS = int(os.environ.get("THREADS", "4"))
WRK_THREADS, CONNECTIONS = 2, 32
MEMORY_GROWTH_LIMIT = 0.10
EXPECTED = {"badtoken": 401, "expired": 401, "otheruser": 403, "foreignid": 404, "badbody": 400, "oversized": 413}


def environment() -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": DATABASE_URL,
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(48),
        "BETTER_AUTH_SECRET": secrets.token_urlsafe(48),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "OPENAI_API_KEY": "",  # the offline model
        "REDIS_URL": REDIS_URL,
        "API_RATE": "1200/min",
        "CHAT_RATE": "20/min",
        "WEB_CONCURRENCY": str(WORKERS),
        "THREADS": str(THREADS),
    }


def admin() -> psycopg.Connection:
    """A connection to the server's `postgres` database, so that it is not counted as the app's."""
    conninfo = psycopg.conninfo.conninfo_to_dict(DATABASE_URL)
    return psycopg.connect(**{**conninfo, "dbname": "postgres"}, autocommit=True)


def database_name() -> str:
    return psycopg.conninfo.conninfo_to_dict(DATABASE_URL)["dbname"]


def drop_database() -> None:
    with admin() as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database_name())))


def prepare(env: dict[str, str], users_file: Path) -> dict[str, int]:
    """Create and seed the database, write each user's tokens and task ids for soak.lua; return the
    pool's settings (per worker)."""
    drop_database()
    with admin() as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database_name())))
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    os.environ.update(env, DJANGO_SETTINGS_MODULE="todo_project.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from tasks.models import Task
    from todo_project.auth import mint_token

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    call_command("seed_demo", users=USERS, tasks_per_user=TASKS_PER_USER, prefix="soak-user-", verbosity=0)
    tasks: dict[str, list[int]] = {}
    for user_id, task_id in Task.objects.order_by("id").values_list("user_id", "id"):
        tasks.setdefault(user_id, []).append(task_id)
    with users_file.open("w") as output:
        for n in range(1, USERS + 1):
            user_id = f"soak-user-{n}"
            ids = " ".join(map(str, tasks[user_id][:5]))  # get/update/toggle use these; deletes only its own
            tokens = f"{mint_token(user_id, ttl=SECONDS + 3600)} {mint_token(user_id, ttl=-3600)}"
            output.write(f"{user_id} {tokens} {ids}\n")
    connection.close()
    connection.close_pool()  # this process's connections would count as the server's
    return settings.DATABASES["default"]["OPTIONS"]["pool"]


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    return found


def workers() -> dict[int, int]:
    """RSS in KiB of each gunicorn worker (the master is our child; the workers are its children)."""
    (master,) = [pid for pid in children(os.getpid()) if "gunicorn" in Path(f"/proc/{pid}/cmdline").read_text()]
    rss = {}
    for pid in children(master):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss[pid] = int(line.split()[1])
    return rss


def pool_connections(monitor: psycopg.Connection) -> tuple[int, int]:
    """The server connections to the soak database: (all, active)."""
    rows = monitor.execute(
        "SELECT state, count(*) FROM pg_stat_activity WHERE datname = %s GROUP BY state", (database_name(),)
    ).fetchall()
    return sum(count for _, count in rows), sum(count for state, count in rows if state == "active")


def progress(directory: Path) -> list[int]:
    """answered, valid errors, misanswered, 5xx, untagged: the threads' running totals."""
    totals = [0] * 5
    for path in directory.glob("thread-*"):
        try:
            for i, value in enumerate(path.read_text().split()):
                totals[i] += int(value)
        except (OSError, ValueError):  # caught mid-write: next time
            pass
    return totals


def soak(url: str, work: Path) -> tuple[dict, dict]:
    command = ["wrk", f"-t{WRK_THREADS}", f"-c{CONNECTIONS}", f"-d{SECONDS}s", "--timeout", "30s",
               "-s", str(ROOT / "bench" / "soak.lua"), url]  # fmt: skip
    env = {**os.environ, "SOAK_USERS": f"{work}/users.txt", "PROGRESS_DIR": str(work), "WRK_THREADS": str(WRK_THREADS)}
    with (work / "wrk.out").open("w") as output, admin() as monitor:
        load = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)  # noqa: S603
        try:
            started = time.monotonic()
            memory: dict[str, dict[int, int]] = {}
            pool: list[tuple[int, int]] = []
            tick = 0
            while load.poll() is None:
                time.sleep(1)
                tick += 1
                if tick % 5 == 0:
                    pool.append(pool_connections(monitor))
                    if tick >= WARMUP:  # the last sample under load is the end's
                        memory.setdefault("start", workers())
                        memory["end"] = workers()
                if tick % 15 == 0:
                    answered, valid_errors, misanswered, server_errors, _ = progress(work)
                    log(f"  {time.monotonic() - started:5.0f} s  {answered:>8} answered  {valid_errors} valid errors"
                        f"  {misanswered} misanswered  {server_errors} 5xx  db connections {pool[-1][0]}")  # fmt: skip
        finally:
            if load.poll() is None:
                load.terminate()
            load.wait()
    lines = (work / "wrk.out").read_text().splitlines()
    result = next((json.loads(line.removeprefix("RESULT ")) for line in lines if line.startswith("RESULT ")), None)
    if load.returncode or result is None:
        sys.exit("wrk failed:\n" + "\n".join(lines))
    return result, {"memory": memory, "pool": pool}


def report(result: dict, samples: dict, pool: dict[str, int]) -> list[str]:
    """Print the report; return the reasons to fail."""
    counts, wrong, statuses = result["counts"], result["wrong"], result["statuses"]
    valid = {kind: n for kind, n in counts.items() if kind not in EXPECTED}
    invalid = {kind: n for kind, n in counts.items() if kind in EXPECTED}
    valid_errors = sum(wrong.get(kind, 0) for kind in valid) + result["untagged"]
    misanswered = sum(wrong.get(kind, 0) for kind in invalid)
    busy = result.get("busy", {})
    refused = sum(busy.values())  # chat turns refused with 503 + Retry-After: backpressure, not a fault
    server_errors = sum(n for status, n in statuses.items() if int(status) >= 500) - refused
    answered = sum(statuses.values())
    chats, minutes = counts.get("chat", 0) + counts.get("stream", 0), result["seconds"] / 60
    start, end = samples["memory"].get("start", {}), samples["memory"].get("end", {})
    totals = [total for total, _ in samples["pool"]]
    active = [active for _, active in samples["pool"]]
    low, high = pool["min_size"], pool["max_size"]

    log(f"\nSoak: {result['seconds']:.0f} s; wrk {WRK_THREADS} threads, {CONNECTIONS} connections, {USERS} users; "
        f"gunicorn + uvicorn {WORKERS} workers x {THREADS} sync threads; pool {low}-{high} per worker\n")  # fmt: skip
    log("| kind | expected | requests | wrong |\n|---|---|---:|---:|")
    for kind in sorted(valid, key=valid.get, reverse=True) + sorted(invalid, key=invalid.get, reverse=True):
        log(f"| {kind} | {EXPECTED.get(kind, '2xx')} | {counts[kind]} | {wrong.get(kind, 0)} |")
    rows = [
        ("requests answered", f"{answered} ({answered / result['seconds']:.0f}/s), p50 {result['p50_ms']} ms, "
                              f"p99 {result['p99_ms']} ms, max {result['max_ms']} ms"),
        ("valid requests", f"{sum(valid.values())}, errors **{valid_errors}**"),
        ("invalid requests", f"{sum(invalid.values())}, misanswered **{misanswered}**"),
        ("5xx (chat turns refused busy not counted)", f"**{server_errors}**"),
        ("chat turns refused busy (503 + Retry-After)", f"{refused} of {chats} (CHAT_TURNS_PER_WORKER)"),
        ("socket errors and timeouts", f"**{result['socket_errors']}**"),
        ("statuses", ", ".join(f"{status}: {n}" for status, n in sorted(statuses.items()))),
        ("per user and minute", f"{answered / USERS / minutes:.0f} requests (API_RATE 1200/min), "
                                f"{chats / USERS / minutes:.1f} chat turns (CHAT_RATE 20/min)"),
    ]  # fmt: skip
    for pid, before in sorted(start.items()):
        after = end.get(pid)
        growth = f"{before / 1024:.1f} → {after / 1024:.1f} MiB ({after / before:.1%})" if after else "gone"
        rows.append((f"worker {pid} RSS, at {WARMUP} s → end", growth))
    used = f"min {min(totals)} ({min(active)}), max {max(totals)} ({max(active)}), end {totals[-1]} ({active[-1]})"
    bounds = f"pool bounds {WORKERS} x {low} = {WORKERS * low} to {WORKERS} x {high} = {WORKERS * high}"
    rows.append(("db connections, all (active)", f"{used}; {bounds}"))
    log("\n| measure | value |\n|---|---|\n" + "\n".join(f"| {name} | {value} |" for name, value in rows) + "\n")

    failures = []
    if valid_errors:
        failures.append(f"{valid_errors} valid requests failed")
    if misanswered:
        failures.append(f"{misanswered} invalid requests got the wrong status")
    if server_errors:
        failures.append(f"{server_errors} responses were 5xx")
    if result["socket_errors"]:
        failures.append(f"{result['socket_errors']} socket errors or timeouts")
    if not start:
        failures.append("the run ended before the warm-up did")
    elif set(end) != set(start):
        failures.append("the workers changed (a worker died or was restarted)")
    grown = [pid for pid in start if pid in end and end[pid] > start[pid] * (1 + MEMORY_GROWTH_LIMIT)]
    if grown:
        failures.append(f"workers {grown} grew more than {MEMORY_GROWTH_LIMIT:.0%}")
    return failures


def main() -> None:
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install wrk (make soak does it).")
    if SECONDS < 15:
        sys.exit("SOAK_SECONDS must be at least 15 (memory and connections are sampled every 5 s).")
    lock = Path(tempfile.gettempdir(), "todo-soak.lock").open("w")  # noqa: SIM115 - held until exit
    try:  # a second soak would drop the database under the first
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        sys.exit("Another soak is running.")
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # clean up as on Ctrl-C
    env = environment()
    work = Path(tempfile.mkdtemp(prefix="todo-soak-"))
    try:
        log(f"Preparing {DATABASE_URL} ({USERS} users, {TASKS_PER_USER} tasks each) …")
        pool = prepare(env, work / "users.txt")
        log(f"Soaking for {SECONDS} s (memory baseline after {WARMUP} s) …")
        with server(APP, PORT, env, "/health") as url:
            result, samples = soak(url, work)
        failures = report(result, samples, pool)
    finally:
        drop_database()
        shutil.rmtree(work, ignore_errors=True)
    log(f"Server log: {tempfile.gettempdir()}/todo-bench-{PORT}.log")
    if failures:
        sys.exit("SOAK FAILED: " + "; ".join(failures))
    log("Soak passed: no errors, memory flat.")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit("Interrupted: the server is stopped and the soak database dropped.")
