"""The events scenario of `make bench`: the real worker (`manage.py worker`) beside the production server,
relaying to the real NATS JetStream and delivering to a webhook receiver on loopback.

    make bench BENCH_ARGS="--scenarios events"

1. Latency: writes at a steady rate (EVENTS_RATE a second for the scenario's duration), each timed from
   its answer (its transaction has committed by then) to its event's arrival on the stream's
   task-events subject and at the webhook receiver; p50 and p99.
2. Throughput: the worker stopped, a backlog made (bulk creates: EVENTS_BACKLOG events), the worker
   started again, timed until every event is published (events/s numbered and relayed) and until every
   webhook delivery is delivered (deliveries/s).
"""

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NATS_URL = os.environ.get("BENCH_NATS_URL", "nats://127.0.0.1:4222")
EVENTS_RATE = 20  # writes a second in the latency phase
EVENTS_BACKLOG = 2000  # events made while the worker is stopped


class Arrivals:
    """When each task's created event arrived, by task id."""

    def __init__(self) -> None:
        self.at: dict[int, float] = {}
        self.lock = threading.Lock()

    def saw(self, body: bytes) -> None:
        event = json.loads(body)
        if event["type"] == "todo.task.created":
            with self.lock:
                self.at.setdefault(event["data"]["task_id"], time.monotonic())

    def has(self, task_ids) -> bool:
        with self.lock:
            return all(task_id in self.at for task_id in task_ids)


@contextmanager
def receiver(arrivals: Arrivals):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            arrivals.saw(self.rfile.read(int(self.headers["content-length"])))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/hook"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def subscriber(subject: str, arrivals: Arrivals):
    """A core NATS subscription to the subject: what JetStream stores on it arrives here as it is stored."""
    import nats

    loop = asyncio.new_event_loop()
    ready = threading.Event()
    stop = asyncio.Event()

    async def arrived(message) -> None:
        arrivals.saw(message.data)

    async def listen() -> None:
        client = await nats.connect(NATS_URL)
        await client.subscribe(subject, cb=arrived)
        await client.flush()
        ready.set()
        await stop.wait()
        await client.close()

    thread = threading.Thread(target=loop.run_until_complete, args=(listen(),), daemon=True)
    thread.start()
    if not ready.wait(10):
        raise RuntimeError(f"could not subscribe to {subject} at {NATS_URL}")
    try:
        yield
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)


def worker(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "manage.py", "worker"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL)  # fmt: skip


def stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=60)


def delete_stream(name: str) -> None:
    import nats

    async def drop() -> None:
        client = await nats.connect(NATS_URL)
        try:
            await client.jetstream().delete_stream(name)
        finally:
            await client.close()

    asyncio.run(drop())


def post(url: str, token: str, body: dict) -> dict:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST", headers={  # noqa: S310
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"})  # fmt: skip
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
        return json.load(response)


def percentile(values: list[float], share: float) -> float:
    ranked = sorted(values)
    return ranked[min(len(ranked) - 1, int(share * len(ranked)))]


def wait_for(done, seconds: float) -> float:
    """Seconds until done(), or raise after `seconds`."""
    started = time.monotonic()
    while not done():
        if time.monotonic() - started > seconds:
            raise RuntimeError("the worker did not catch up in time")
        time.sleep(0.01)
    return time.monotonic() - started


def events_scenario(args, env: dict[str, str], url: str, data: dict) -> dict:
    """Run both phases against the server at `url`; the worker gets `env` with a stream of its own."""
    from django.db import connection

    from events import relay
    from events.models import Event
    from webhooks.models import Delivery, Webhook
    from webhooks.services import webhook_create

    # The other scenarios' writes left their events unnumbered (no worker ran): not this scenario's backlog.
    Event.objects.all().delete()
    with connection.cursor() as cursor:  # and their dead rows out of the way, as prepare() does for tasks
        cursor.execute(f"VACUUM ANALYZE {Event._meta.db_table}")
    tag = uuid.uuid4().hex[:8]
    stream, prefix = f"BENCH_{tag}", f"bench{tag}."
    env = {**env, "EVENTS_URL": NATS_URL, "EVENTS_STREAM": stream, "EVENTS_SUBJECT_PREFIX": prefix,
           "WEBHOOK_ALLOW_PRIVATE_TARGETS": "true"}  # fmt: skip
    user, token = str(data["events_user"]), str(data["events_token"])
    tasks_url = f"{url}/api/{user}/tasks"
    on_stream, on_webhook = Arrivals(), Arrivals()
    with receiver(on_webhook) as hook_url, subscriber(f"{prefix}task-events", on_stream):
        os.environ["WEBHOOK_ALLOW_PRIVATE_TARGETS"] = "true"
        from django.conf import settings

        settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
        Webhook.objects.filter(user_id=user).delete()  # an earlier run's, to receivers long gone
        webhook_create(user_id=user, url=hook_url, event_types=["todo.task.created"])
        running = worker(env)
        try:
            first = post(tasks_url, token, {"title": "the worker is up"})["id"]  # not timed: its start
            wait_for(lambda: first in on_stream.at and first in on_webhook.at, 60)
            committed: dict[int, float] = {}
            interval, started = 1 / EVENTS_RATE, time.monotonic()
            for n in range(EVENTS_RATE * args.duration):
                time.sleep(max(0.0, started + n * interval - time.monotonic()))
                task = post(tasks_url, token, {"title": f"event {n}"})
                committed[task["id"]] = time.monotonic()
            wait_for(lambda: on_stream.has(committed) and on_webhook.has(committed), 60)
        finally:
            stop(running)
        to_stream = [(on_stream.at[task_id] - at) * 1000 for task_id, at in committed.items()]
        to_webhook = [(on_webhook.at[task_id] - at) * 1000 for task_id, at in committed.items()]

        before = Event.objects.count()
        for _ in range(EVENTS_BACKLOG // 500):
            post(f"{tasks_url}/bulk", token, {"tasks": [{"title": f"backlog {n}"} for n in range(500)]})
        made = Event.objects.count() - before
        deliveries_before = Delivery.objects.filter(status="delivered").count()
        running, restarted = worker(env), time.monotonic()
        try:
            wait_for(lambda: relay.backlog()["pending"] == 0, 300)
            relay_seconds = time.monotonic() - restarted
            wait_for(lambda: Delivery.objects.filter(status="delivered").count() - deliveries_before >= made, 600)
            deliver_seconds = time.monotonic() - restarted
        finally:
            stop(running)
            delete_stream(stream)
    return {
        "writes": len(committed),
        "rate": EVENTS_RATE,
        "to_stream_p50_ms": percentile(to_stream, 0.5),
        "to_stream_p99_ms": percentile(to_stream, 0.99),
        "to_webhook_p50_ms": percentile(to_webhook, 0.5),
        "to_webhook_p99_ms": percentile(to_webhook, 0.99),
        "backlog": made,
        "relay_events_per_s": made / relay_seconds,
        "deliveries_per_s": made / deliver_seconds,
        "poll_seconds": float(env.get("EVENTS_POLL_SECONDS", "0.2")),
        "delivery_threads": int(env.get("WEBHOOK_DELIVERY_THREADS", "4")),
        "stream": stream,
    }
