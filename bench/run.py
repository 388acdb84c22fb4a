"""The benchmark: the production server on PostgreSQL, driven by wrk from a separate process.

    make bench                        # every scenario, then the baseline, and the ratios
    make bench BENCH_ARGS="--growth"  # also: list and get at 10,000 tasks, then at 1,000,000
    make bench BENCH_ARGS="--scenarios list-during-streams --stream-delay 10"  # streams that last 10 s
    make bench BENCH_ARGS="--against HEAD~1"  # this checkout vs another revision (bench/compare.py)
    make bench BENCH_ARGS="--scenarios list-under-attack"  # a list while another user attacks (bench/hostile.py)
    make bench BENCH_ARGS="--scenarios cold"  # get from a fresh server's first moment vs a later, warm window
    make bench BENCH_ARGS="--scenarios events"  # the worker: latency to JetStream and webhooks (bench/event_flow.py)
    make bench BENCH_ARGS="--scenarios streams"  # list with 1,000 live streams open vs alone (bench/live.py)
    make bench BENCH_ARGS="--scenarios chat-turns --stream-delay 5"  # list while 200 five-second chat turns run
    make bench BENCH_ARGS="--scenarios serving"  # list under the three serving models (gthread, ASGI, the router)

Prints, per scenario, requests/s, p50, p99 and errors, and our list/get throughput as a ratio of
a bare WSGI app doing the same SQL (bench/baseline.py) under the same server, measured in the same
run. Needs PostgreSQL (BENCH_DATABASE_URL) and wrk (Debian's package; `make bench` installs it).

--against REV: this checkout and REV side by side in alternating rounds, no baseline (bench/compare.py).
"""

import argparse
import io
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from event_flow import events_scenario  # bench/event_flow.py
from hostile import TARGET_RATIO, list_under_attack, prepare_attacker  # bench/hostile.py
from live import chat_turns_scenario, streams_scenario  # bench/live.py
from slow_model import slow_model  # bench/slow_model.py

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SCENARIOS = ["list", "get", "create", "update", "toggle", "update-many", "toggle-many", "delete", "list-one-list",
             "health", "chat", "chat-stream", "list-during-streams", "cold", "events", "streams"]  # fmt: skip
# Opt-in: list-under-attack (bench/hostile.py), chat-turns (bench/live.py; needs --stream-delay), serving.
TARGET_P99_MS = 50
APP = "todo_project.asgi:application"  # the two paths of todo_project/asgi.py, as `make serve` runs them


def served(tree: Path) -> tuple[str, dict[str, str]]:
    """The application to run from checkout `tree`, and the environment it needs: a revision from before
    the async path (no router in its asgi.py) runs its WSGI app under gthread, as it was served then."""
    if "ASYNC_PATHS" in (tree / "todo_project" / "asgi.py").read_text():
        return APP, {}
    return "todo_project.wsgi", {"WEB_WORKER_CLASS": "gthread"}


MANY_TASKS = 200  # the writer's tasks, which update-many and toggle-many spread their writes over
MASTERS: dict[str, int] = {}  # a running server's URL: its gunicorn master's pid


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL",
                        "postgres://postgres@127.0.0.1:5432/todo_bench"))  # fmt: skip
    parser.add_argument("--duration", type=int, default=10, help="Seconds per scenario (default 10).")
    parser.add_argument("--warmup", type=int, default=2, help="Unmeasured seconds before each (default 2).")
    parser.add_argument("--connections", type=int, default=32, help="Concurrent connections (default 32).")
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3, help="Alternating rounds for list/get, and for every "
                        "scenario with --against (default 3).")  # fmt: skip
    parser.add_argument("--scenarios", help="Comma-separated subset (default: all; with --against: "
                        f"{','.join(SCENARIOS[:5])}).")  # fmt: skip
    parser.add_argument("--workers", default=os.environ.get("WEB_CONCURRENCY", "2"))
    parser.add_argument("--threads", default=os.environ.get("THREADS", "8"))
    parser.add_argument("--worker-class", default=os.environ.get("WEB_WORKER_CLASS", "todo_project.gunicorn.Worker"))
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--baseline-port", type=int, default=8101)
    parser.add_argument("--against", metavar="REV", help="Compare with this git revision, round by round.")
    parser.add_argument("--against-port", type=int, default=8102, help="REV's server (default 8102).")
    parser.add_argument("--growth", action="store_true", help="Compare list/get at 10k and at 1M tasks.")
    parser.add_argument("--streams", type=int, default=8, help="Chat streams in flight in list-during-streams "
                        "(default 8: the chat turns of 2 workers, CHAT_TURNS_PER_WORKER 4 each).")  # fmt: skip
    parser.add_argument("--stream-delay", type=float, default=0, help="Chat answers streamed over this many "
                        "seconds by a local fake provider, not the offline model (default 0: offline).")  # fmt: skip
    parser.add_argument("--attackers", type=int, default=8, help="Attacking threads in list-under-attack "
                        "(opt-in, not run by default).")  # fmt: skip
    parser.add_argument("--attack-list-connections", type=int, default=8, help="The attacked list's wrk "
                        "connections in list-under-attack (default 8: a busy user, not a flood).")  # fmt: skip
    parser.add_argument("--json", type=Path, help="Also write the results to this file.")
    return parser.parse_args()


def log(message: str) -> None:
    print(message, flush=True)  # noqa: T201


def environment(args: argparse.Namespace) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=args.database_url,
        BASELINE_DATABASE_URL=args.database_url,
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(48),
        BETTER_AUTH_SECRET=env.get("BETTER_AUTH_SECRET") or secrets.token_urlsafe(48),
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        OPENAI_API_KEY="",  # the chat scenario runs the offline model
        CHAT_RATE="100000000/min",
        WEB_CONCURRENCY=str(args.workers),
        THREADS=str(args.threads),
        WEB_WORKER_CLASS=args.worker_class,
        REDIS_URL=env.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"),  # the throttles' shared cache
        API_RATE="100000000/min",  # the benchmark measures the work, not the throttle's refusals
        MAX_TASKS_PER_USER="100000000",  # nor the quota's: a create scenario makes more than 10,000 tasks
    )
    if args.stream_delay:
        env.update(OPENAI_API_KEY="bench", OPENAI_BASE_URL=slow_model(args.stream_delay), CHAT_API="chat_completions")
    return env


def create_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    conninfo = psycopg.conninfo.conninfo_to_dict(url)
    name = conninfo.pop("dbname")
    with psycopg.connect(**{**conninfo, "dbname": "postgres"}, autocommit=True) as connection:
        if not connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def prepare(args: argparse.Namespace, env: dict[str, str]) -> dict[str, object]:
    """Migrate, seed the users of each scenario, mint a token; return what wrk needs."""
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "todo_project.settings"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    from tasks import selectors
    from todo_project.auth import mint_token

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)  # as `make serve` does
    quiet = io.StringIO()
    writers = 2 if args.against else 1  # --against: a writer of its own for REV's server
    for prefix, users, count in [("bench-reader-", 1, 50), ("bench-writer-", writers, MANY_TASKS),
                                 ("bench-deleter-", 1, 60_000), ("bench-events-", 1, 1)]:  # fmt: skip
        call_command("seed_demo", users=users, tasks_per_user=count, prefix=prefix, reset=True, stdout=quiet)
    from django.db import connection

    with connection.cursor() as cursor:  # drop the dead rows of earlier runs, so plans stay the same
        cursor.execute("VACUUM ANALYZE tasks_task")
    reader, writer, deleter = "bench-reader-1", "bench-writer-1", "bench-deleter-1"
    bench_list = _list_of_half(reader)
    doomed = sorted(selectors.task_list(user_id=deleter).values_list("id", flat=True))
    if doomed[-1] - doomed[0] + 1 != len(doomed):
        sys.exit("The delete scenario needs contiguous ids; rerun the benchmark.")
    data = {
        "reader": reader,
        "reader_token": mint_token(reader, ttl=7200),
        "reader_task": selectors.task_list(user_id=reader).first().id,
        "reader_list": bench_list,
        "writer": writer,
        "writer_token": mint_token(writer, ttl=7200),
        "writer_task": selectors.task_list(user_id=writer).first().id,
        "writer_many_first": _contiguous(writer),
        "deleter": deleter,
        "deleter_token": mint_token(deleter, ttl=7200),
        "delete_first": doomed[0],
        "delete_last": doomed[-1],
        "events_user": "bench-events-1",
        "events_token": mint_token("bench-events-1", ttl=7200),
    }
    if args.against:
        rev_writer = "bench-writer-2"
        data.update(rev_writer=rev_writer, rev_writer_token=mint_token(rev_writer, ttl=7200),
                    rev_writer_task=selectors.task_list(user_id=rev_writer).first().id,
                    rev_writer_many_first=_contiguous(rev_writer))  # fmt: skip
    return data


def _contiguous(user_id: str) -> int:
    """The first of the user's tasks' ids, which must be contiguous (update-many walks them)."""
    from tasks.models import Task

    ids = sorted(Task.objects.filter(user_id=user_id).values_list("id", flat=True))
    if ids[-1] - ids[0] + 1 != len(ids):
        sys.exit(f"{user_id}'s tasks need contiguous ids; rerun the benchmark.")
    return ids[0]


def _list_of_half(user_id: str) -> int:
    """A list holding every other task of the user (list-one-list reads it; the plain list is unchanged)."""
    from tasks.models import Task, TaskList
    from tasks.services import lists

    task_list = TaskList.objects.filter(user_id=user_id, name="Bench list", deleted_at=None).first()
    task_list = task_list or lists.list_create(user_id=user_id, name="Bench list")
    ids = list(Task.objects.filter(user_id=user_id, deleted_at=None).order_by("id").values_list("id", flat=True))
    Task.objects.filter(pk__in=ids[::2]).update(list=task_list)
    return task_list.id


def seed_background(tasks_per_user: int, users: int) -> None:
    """Exactly `users` background users with `tasks_per_user` tasks each (more from an earlier run are removed)."""
    from django.core.management import call_command
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM tasks_task WHERE user_id LIKE 'bg-user-%%' AND substr(user_id, 9)::int > %s", [users]
        )
    call_command("seed_demo", users=users, tasks_per_user=tasks_per_user, prefix="bg-user-")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE tasks_task")


def answers(port_and_path: str) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port_and_path}", timeout=1):
            return True
    except OSError:
        return False


@contextmanager
def server(app: str, port: int, env: dict[str, str], ready_path: str, cwd: Path = ROOT, *, at_once: int = 16):
    """The app under gunicorn, ready when `at_once` requests at once all answer within a second (so that
    no worker is still booting); the cold scenario takes the first answer (at_once=1), as a load balancer would."""
    command = [str(BIN / "gunicorn"), "-c", "python:todo_project.gunicorn", app]
    log_file = Path(tempfile.gettempdir()) / f"todo-bench-{port}.log"  # the servers' request logs
    with log_file.open("w") as output:
        process = subprocess.Popen(command, cwd=cwd, env={**env, "PORT": str(port)}, stdout=output, stderr=output)  # noqa: S603
    MASTERS[f"http://127.0.0.1:{port}"] = process.pid
    try:
        deadline = time.monotonic() + 120
        with ThreadPoolExecutor(at_once) as pool:
            while not all(pool.map(answers, [f"{port}{ready_path}"] * at_once)):
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError(f"{app} did not start on port {port}")
                time.sleep(0.05 if at_once == 1 else 0.3)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)


def start_wrk(args, url, scenario, data, seconds, connections=None) -> subprocess.Popen:
    writes = {"create": "writer", "update": "writer", "toggle": "writer", "update-many": "writer",
              "toggle-many": "writer", "delete": "deleter"}  # fmt: skip
    role = writes.get(scenario, "reader")
    env = {
        **os.environ,
        "SCENARIO": scenario,
        "USER_ID": str(data[role]),
        "TOKEN": str(data[f"{role}_token"]),
        "TASK_ID": str(data[f"{role}_task"]) if f"{role}_task" in data else "0",
        "DELETE_FIRST": str(data["delete_first"]),
        "LIST_ID": str(data.get("reader_list", 0)),
        "MANY_FIRST": str(data.get(f"{role}_many_first", 0)),
        "MANY_COUNT": str(MANY_TASKS),
        "THREADS": str(args.wrk_threads),
    }
    command = ["wrk", f"-t{args.wrk_threads}", f"-c{connections or args.connections}", f"-d{seconds}s",
               "--timeout", "60s", "--latency", "-s", str(ROOT / "bench" / "wrk.lua"), url]  # fmt: skip
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)  # noqa: S603


def wrk_result(process: subprocess.Popen) -> dict:
    output, _ = process.communicate()
    if process.returncode:
        raise subprocess.CalledProcessError(process.returncode, process.args, output)
    line = next(line for line in output.splitlines() if line.startswith("RESULT "))
    result = json.loads(line.removeprefix("RESULT "))
    # Requests answered: a chat refused busy (503 + Retry-After, CHAT_TURNS_PER_WORKER) is not one.
    result["rps"] = (result["requests"] - result.get("busy", 0)) / result["seconds"]
    return result


def wrk(args, url, scenario, data, seconds) -> dict:
    return wrk_result(start_wrk(args, url, scenario, data, seconds))


def measure(args, url, scenario, data) -> dict:
    if args.warmup and scenario != "delete":
        wrk(args, url, scenario, data, args.warmup)
    return wrk(args, url, scenario, data, args.duration)


def median_of(results: list[dict]) -> dict:
    """The round with the median throughput (its latencies and errors come with it)."""
    ranked = sorted(results, key=lambda result: result["rps"])
    chosen = dict(ranked[len(ranked) // 2])
    chosen["errors"] = sum(result["errors"] for result in results)
    chosen["rounds_rps"] = [round(result["rps"]) for result in results]
    return chosen


def list_during_streams(args, url, data) -> dict:
    """List alone, then list while --streams chat streams are in flight (each of their connections
    starts the next stream when one ends), back to back; the list's figures, with the ratio."""
    alone = measure(args, url, "list", data)
    streams = start_wrk(args, url, "chat-stream", data, args.warmup + args.duration + 3, connections=args.streams)
    time.sleep(1)  # the streams are under way before the list's warm-up starts
    during = measure(args, url, "list", data)
    chats = wrk_result(streams)
    return {**during, "vs_alone": during["rps"] / alone["rps"], "alone": alone, "streams": args.streams,
            "stream_rps": chats["rps"], "stream_p50_ms": chats["p50_ms"],
            "stream_errors": chats["errors"], "stream_busy": chats["busy"]}  # fmt: skip


def cold_start(args, env, data) -> dict:
    """`get` on a fresh server from the moment /health first answers, for --duration seconds, then the same
    again once warm; in --rounds rounds, each on a server of its own. The median round's cold window."""
    rounds = []
    for _ in range(args.rounds):
        with server(APP, args.port, env, "/health", at_once=1) as url:
            cold = wrk(args, url, "get", data, args.duration)
            wrk(args, url, "get", data, args.warmup)  # between the two windows, as every other scenario has
            warm = wrk(args, url, "get", data, args.duration)
        rounds.append(
            {**cold, "warm_rps": warm["rps"], "warm_p99_ms": warm["p99_ms"], "vs_warm": cold["rps"] / warm["rps"]}
        )
        log(f"  cold round: first {args.duration} s {cold['rps']:.0f} req/s (p99 {cold['p99_ms']:.1f} ms), "
            f"warm {warm['rps']:.0f} req/s (p99 {warm['p99_ms']:.1f} ms): {rounds[-1]['vs_warm']:.0%}")  # fmt: skip
    chosen = dict(sorted(rounds, key=lambda result: result["vs_warm"])[len(rounds) // 2])
    chosen["errors"] = sum(result["errors"] for result in rounds)
    chosen["round_ratios"] = [round(result["vs_warm"], 2) for result in rounds]
    return chosen


SERVING = {  # the serving models that todo_project/asgi.py chose between: (application, worker class)
    "gthread": ("todo_project.wsgi", "gthread"),  # the WSGI app under gunicorn's threads (before the async path)
    "asgi": ("todo_project.asgi:django_asgi", None),  # every request through Django's ASGI handler
    "router": (APP, None),  # the two paths (make serve)
}


def serving_models(args, env, data) -> dict:
    """The list under each serving model, one server at a time, in --rounds alternating rounds: its
    throughput as a share of gthread's in the same round (the median round's)."""
    rounds: dict[str, list[float]] = {name: [] for name in SERVING}
    for _ in range(args.rounds):
        for name, (app, worker_class) in SERVING.items():
            serving_env = {**env, "WEB_WORKER_CLASS": worker_class} if worker_class else env
            with server(app, args.port + 10, serving_env, "/health") as url:
                rounds[name].append(measure(args, url, "list", data)["rps"])
    shares = {name: sorted(ours / gthread for ours, gthread in zip(rps, rounds["gthread"], strict=True))
              for name, rps in rounds.items()}  # fmt: skip
    result = {"requests": 0, "rps": 0, "errors": 0, "p50_ms": 0, "p99_ms": 0,
              "rounds_rps": {name: [round(rps) for rps in values] for name, values in rounds.items()},
              "vs_gthread": {name: round(values[len(values) // 2], 2) for name, values in shares.items()}}  # fmt: skip
    log(f"  serving: list req/s per round {result['rounds_rps']}; vs gthread (median round): {result['vs_gthread']}")
    return result


def run_scenarios(args, env, data, scenarios) -> tuple[dict, dict]:
    """Both servers run side by side; list and get alternate ours/baseline for --rounds rounds, so
    that a slow moment of the machine hits both and the ratio stays fair."""
    ours, baseline = {}, {}
    if "serving" in scenarios:  # servers of their own, before the others start
        ours["serving"] = serving_models(args, env, data)
        scenarios = [scenario for scenario in scenarios if scenario != "serving"]
    if "cold" in scenarios:  # a fresh server of its own, before the others start
        ours["cold"] = cold_start(args, env, data)
        log(f"  {'cold':<19} {ours['cold']['rps']:>8.0f} req/s  p99 {ours['cold']['p99_ms']:.1f} ms"
            f"  (warm {ours['cold']['warm_rps']:.0f} req/s)")  # fmt: skip
        scenarios = [scenario for scenario in scenarios if scenario != "cold"]
    with (
        server(APP, args.port, env, "/health") as url,
        server("bench.baseline:asgi_app", args.baseline_port, env, "/api/x/tasks") as baseline_url,
    ):
        if {"list", "get"} & set(scenarios):
            same_answers(url, baseline_url, data)
        for scenario in scenarios:
            if scenario in ("list", "get"):
                rounds_ours, rounds_baseline = [], []
                for _ in range(args.rounds):
                    rounds_ours.append(measure(args, url, scenario, data))
                    rounds_baseline.append(measure(args, baseline_url, scenario, data))
                ours[scenario], baseline[scenario] = median_of(rounds_ours), median_of(rounds_baseline)
                # Each round's pair ran back to back: their ratio cancels a slow moment of the machine.
                pairs = sorted(o["rps"] / b["rps"] for o, b in zip(rounds_ours, rounds_baseline, strict=True))
                ours[scenario]["ratio"] = pairs[len(pairs) // 2]
                ours[scenario]["round_ratios"] = [round(ratio, 2) for ratio in pairs]
            elif scenario == "list-during-streams":
                ours[scenario] = list_during_streams(args, url, data)
            elif scenario == "list-under-attack":

                def measure_list(url: str = url) -> dict:
                    connections = args.attack_list_connections
                    wrk_result(start_wrk(args, url, "list", data, args.warmup, connections=connections))
                    return wrk_result(start_wrk(args, url, "list", data, args.duration, connections=connections))

                ours[scenario] = list_under_attack(url, data, args.rounds, args.attackers, measure_list)
            elif scenario in ("streams", "chat-turns"):

                def measure_list(url: str = url) -> dict:
                    return measure(args, url, "list", data)

                if scenario == "streams":
                    ours[scenario] = result = streams_scenario(args, env, url, data, measure_list, MASTERS[url])
                    log(f"  streams: list {result['ratio']:.0%} of alone with {result['streams']} streams open "
                        f"(rounds {result['round_ratios']}); opened {result['opened']}, refused {result['refused']}, "
                        f"dropped {result['dropped']}; {result['events']} events, write → stream p50 "
                        f"{result['event_p50_ms'] or 0:.0f} ms p99 {result['event_p99_ms'] or 0:.0f} ms; server memory "
                        f"{result['before']['memory_mb']} → {result['held']['memory_mb']} MB, db connections "
                        f"{result['before']['db_connections']} → {result['held']['db_connections']}; after each "
                        f"churn loop: {[(c['memory_mb'], c['db_connections']) for c in result['churn']]}")  # fmt: skip
                else:

                    def list_window(url: str, seconds: int) -> dict:
                        return wrk(args, url, "list", data, seconds)

                    ours[scenario] = result = chat_turns_scenario(args, url, measure_list, list_window)
                    log(f"  chat-turns: list {result['ratio']:.0%} of alone with {result['turns_at_once']} turns "
                        f"of {result['delay_s']} s in flight (rounds {result['round_ratios']}); {result['turns']} "
                        f"turns: {result['completed']} completed, {result['refused']} refused, {result['failed']} "
                        f"failed ({result['late']} not yet at the model when the window opened); p50 "
                        f"{result['turn_p50_s']:.1f} s p99 {result['turn_p99_s']:.1f} s; list while the users "
                        f"chat back to back: {result['sustained_ratio']:.0%} of alone")  # fmt: skip
            elif scenario == "events":
                ours[scenario] = events = events_scenario(args, env, url, data)
                log(f"  events: {events['writes']} writes at {events['rate']}/s, commit → JetStream p50 "
                    f"{events['to_stream_p50_ms']:.0f} ms p99 {events['to_stream_p99_ms']:.0f} ms, → webhook p50 "
                    f"{events['to_webhook_p50_ms']:.0f} ms p99 {events['to_webhook_p99_ms']:.0f} ms; a backlog of "
                    f"{events['backlog']}: relayed {events['relay_events_per_s']:.0f} events/s, delivered "
                    f"{events['deliveries_per_s']:.0f} webhooks/s")  # fmt: skip
                continue
            else:
                ours[scenario] = measure(args, url, scenario, data)
            log(f"  {scenario:<19} {ours[scenario]['rps']:>8.0f} req/s  p99 {ours[scenario]['p99_ms']:.1f} ms"
                + (f"  (baseline {baseline[scenario]['rps']:.0f} req/s)" if scenario in baseline else ""))  # fmt: skip
    return ours, baseline


def same_answers(url: str, baseline_url: str, data: dict) -> None:
    """The baseline must answer list and get with exactly our JSON, or the ratio compares different work."""
    for path in (f"/api/{data['reader']}/tasks", f"/api/{data['reader']}/tasks/{data['reader_task']}"):
        bodies = []
        for base in (url, baseline_url):
            headers = {"Authorization": f"Bearer {data['reader_token']}"}
            request = urllib.request.Request(base + path, headers=headers)  # noqa: S310 - loopback
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
                bodies.append(json.loads(response.read()))
        if bodies[0] != bodies[1]:
            sys.exit(f"The baseline's answer to {path} differs from the app's: fix bench/baseline.py first.")
    log("The baseline answers list and get with the same JSON as the app (checked).")


def table(ours: dict, baseline: dict) -> str:
    lines = [
        "| scenario | requests/s | p50 ms | p99 ms | errors | vs baseline |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for scenario, result in ours.items():
        if scenario in ("events", "serving"):  # figures of their own, logged as they ran
            continue
        ratio = f"{result['ratio']:.0%}" if "ratio" in result else ""
        latency = f"{result['p50_ms']:.1f} | {result['p99_ms']:.1f}" if result["requests"] else "none done | none done"
        errors = f"{result['errors']}" + (f" ({result['busy']} busy)" if result.get("busy") else "")
        lines.append(f"| {scenario} | {result['rps']:.0f} | {latency} | {errors} | {ratio} |")
    for scenario, result in baseline.items():
        lines.append(
            f"| baseline {scenario} | {result['rps']:.0f} | {result['p50_ms']:.1f} | {result['p99_ms']:.1f} "
            f"| {result['errors']} | 100% |"
        )
    return "\n".join(lines)


def explain(user_id: str) -> str:
    from django.db import connection

    from tasks import selectors

    sql, params = selectors.task_list(user_id=user_id).query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


def main() -> None:
    args = parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install wrk (make bench does it).")
    if args.against and args.growth:
        sys.exit("--against and --growth do not go together.")
    default = SCENARIOS[:5] if args.against else SCENARIOS  # list, get, create, update, toggle
    scenarios = [s for s in args.scenarios.split(",") if s] if args.scenarios else default
    if args.against:
        from compare import check_args, run_against  # bench/compare.py

        check_args(args.against, scenarios)
    env = environment(args)
    create_database(args.database_url)
    log(f"Preparing {args.database_url} …")
    data = prepare(args, env)
    if "list-under-attack" in scenarios:
        from django.conf import settings

        data.update(prepare_attacker(settings.CHAT_MAX_MESSAGE_CHARS))
    config = f"gunicorn {args.worker_class}, {args.workers} workers, {args.threads} threads each for the sync path"
    load_average = os.getloadavg()[0]  # the machine may be busy with more than this benchmark
    log(f"Server: {config}; load: wrk {args.wrk_threads} threads, {args.connections} connections, {args.duration} s; "
        f"load average before: {load_average:.1f}")  # fmt: skip
    results: dict[str, object] = {"config": config, "connections": args.connections, "duration": args.duration,
                                  "load_average": load_average}  # fmt: skip

    if args.against:
        results["against"] = run_against(args, env, data, scenarios)
    elif args.growth:
        phases = {}
        for label, users in [("10k", 100), ("1M", 10_000)]:
            log(f"Growth: {label} background tasks …")
            seed_background(100, users)
            ours, baseline = run_scenarios(args, env, data, ["list", "get"])
            phases[label] = ours
            log(explain(str(data["reader"])))
        log("\n| tasks in the table | list req/s | list p50 ms | get req/s | get p50 ms |\n|---|---:|---:|---:|---:|")
        for label, ours in phases.items():
            log(f"| {label} | {ours['list']['rps']:.0f} | {ours['list']['p50_ms']:.1f} "
                f"| {ours['get']['rps']:.0f} | {ours['get']['p50_ms']:.1f} |")  # fmt: skip
        for scenario in ("list", "get"):
            slower = phases["1M"][scenario]["p50_ms"] / phases["10k"][scenario]["p50_ms"]
            log(f"{scenario}: p50 at 1M is {slower:.2f}x its p50 at 10k (target ≤ 1.5x)")
        results["growth"] = phases
    else:
        ours, baseline = run_scenarios(args, env, data, scenarios)
        log("\n" + table(ours, baseline) + "\n")
        for scenario in ("list", "get"):
            if scenario in baseline:
                rounds = ", ".join(f"{ratio:.0%}" for ratio in ours[scenario]["round_ratios"])
                ratio = ours[scenario]["ratio"]
                log(f"{scenario}: {ratio:.0%} of the baseline, the median of rounds {rounds} (target ≥ 50%)")
        if "cold" in ours:
            cold, rounds = ours["cold"], ", ".join(f"{ratio:.0%}" for ratio in ours["cold"]["round_ratios"])
            log(f"cold: the first {args.duration} s after /health answers ran at {cold['vs_warm']:.0%} of a warm "
                f"window, the median of rounds {rounds} (target: within noise of 100%)")  # fmt: skip
        if "list-during-streams" in ours:
            during, alone = ours["list-during-streams"], ours["list-during-streams"]["alone"]
            p99 = f"p99 {during['p99_ms']:.1f} ms" if during["requests"] else f"none done in {args.duration} s"
            log(f"list during {during['streams']} chat streams ({during['stream_rps']:.1f} streams/s, "
                f"p50 {during['stream_p50_ms']:.0f} ms each, {during['stream_errors']} failed, "
                f"{during['stream_busy']} refused busy with a 503 and sent again after Retry-After): "
                f"{during['rps']:.0f} req/s, {p99}; alone {alone['rps']:.0f} req/s, "
                f"p99 {alone['p99_ms']:.1f} ms: {during['vs_alone']:.0%} of the throughput")  # fmt: skip
        if "list-under-attack" in ours:
            attacked = ours["list-under-attack"]
            rounds = ", ".join(f"x{ratio:.2f}" for ratio in attacked["round_ratios"])
            log(f"list under attack: p99 x{attacked['p99_ratio']:.2f} of the list alone, the median of rounds "
                f"{rounds} (target ≤ x{TARGET_RATIO:g})")  # fmt: skip
        timed = {s: r for s, r in ours.items() if s not in ("chat", "chat-stream", "events")}
        slow = [s for s, r in timed.items() if not r["requests"] or r["p99_ms"] >= TARGET_P99_MS]
        failed = [s for s, r in ours.items() if r.get("errors")]
        log(f"p99 < {TARGET_P99_MS} ms: {'all' if not slow else 'missed by ' + ', '.join(slow)}; "
            f"errors: {'none' if not failed else ', '.join(failed)}")  # fmt: skip
        log("\nList query plan:\n" + explain(str(data["reader"])))
        results.update(ours=ours, baseline=baseline)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
