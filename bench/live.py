"""The async path's scenarios of `make bench` (todo_project/asgi.py):

- `streams`: the list alone, then with STREAMS live streams open (GET /api/<user>/events, one user each,
  from one client process: bench/stream_clients.py), in alternating rounds, with the worker numbering
  the events of writes made throughout (WRITES_PER_S, through the API, for some of the streaming users):
  the list's ratio, the streams' latency from write to arrival, the server's memory and database
  connections before, during and after; then CHURN_LOOPS loops of opening and dropping them all.
- `chat-turns` (with --stream-delay, the fake model's seconds per answer): TURNS chat turns sent at once
  (TURNS users), and the list over a window while they all wait for the model, against the list alone
  over the same window, in alternating rounds: the ratio, and the turns completed, refused and their
  latency. Then the list while the TURNS users chat back to back, the turns' own work included.
"""

import json
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from event_flow import percentile, post, worker  # bench/event_flow.py
from event_flow import stop as stop_worker

ROOT = Path(__file__).resolve().parent.parent
STREAMS = 1000
WRITES_PER_S = int(os.environ.get("BENCH_STREAM_WRITES", "10"))  # 0: the streams stay quiet
CHURN_LOOPS = 5
TURNS = 200
TARGET_RATIO = 0.90
FAILURES: list[str] = []  # the first failed turn's answer, for the log


def tokens(prefix: str, count: int) -> list[tuple[str, str]]:
    from todo_project.auth import mint_token

    return [(f"{prefix}{n}", mint_token(f"{prefix}{n}", ttl=7200)) for n in range(count)]


def server_memory_mb(master: int) -> float:
    """The resident memory of the server's worker processes (the master's children), in MB."""
    total = 0
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
        except OSError:
            continue
        if fields.get("PPid", "").strip() == str(master):
            total += int(fields.get("VmRSS", "0 kB").split()[0])
    return round(total / 1024, 1)


def database_connections(database_url: str) -> int:
    import psycopg

    conninfo = psycopg.conninfo.conninfo_to_dict(database_url)
    name = conninfo.pop("dbname")
    with psycopg.connect(**{**conninfo, "dbname": "postgres"}) as connection:
        row = connection.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (name,)).fetchone()
        return int(row[0])


class Streams:
    """STREAMS live streams held by bench/stream_clients.py until `close()`."""

    def __init__(self, port: int, pairs: list[tuple[str, str]]) -> None:
        self.file = Path(tempfile.mkstemp(prefix="bench-streams-")[1])
        self.file.write_text("".join(f"{user} {token}\n" for user, token in pairs))
        self.process = subprocess.Popen(  # noqa: S603
            [sys.executable, str(ROOT / "bench" / "stream_clients.py"), str(port), str(self.file)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        ready = (self.process.stdout.readline() if self.process.stdout else "").split()
        if not ready or ready[0] != "READY":
            raise RuntimeError(f"the stream clients did not start: {ready}")
        self.opened, self.refused = int(ready[1]), int(ready[2])

    def close(self) -> dict:
        output, _ = self.process.communicate("close\n", timeout=120)
        self.file.unlink()
        return json.loads(output.strip().splitlines()[-1])


def streams_scenario(args, env, url: str, data: dict, measure_list, master: int) -> dict:
    port = int(url.rsplit(":", 1)[1])
    pairs = tokens("bench-stream-", STREAMS)
    running = worker(env)
    stop = threading.Event()
    try:
        before = {"memory_mb": server_memory_mb(master), "db_connections": database_connections(args.database_url)}
        alone, during, held = [], [], None
        latencies: list[float] = []
        opened = refused = dropped = 0
        for _ in range(args.rounds):
            # The same writes go on in both halves of the round (and the worker numbers them): the
            # ratio is what the open streams cost; the streams show that they are live.
            writer = threading.Thread(target=_write, args=(url, pairs[:50], stop), daemon=True)
            if WRITES_PER_S:
                writer.start()
            alone.append(measure_list(url))
            streams = Streams(port, pairs)
            during.append(measure_list(url))
            held = {"memory_mb": server_memory_mb(master), "db_connections": database_connections(args.database_url)}
            stop.set()
            if WRITES_PER_S:
                writer.join(30)
            stop.clear()
            time.sleep(1)  # the last writes reach their streams
            result = streams.close()
            opened, refused, dropped = (
                opened + result["opened"],
                refused + result["refused"],
                dropped + result["dropped"],
            )
            latencies += result["latencies"]
        churn = []
        for _ in range(CHURN_LOOPS):
            Streams(port, pairs).close()
            time.sleep(0.5)
            churn.append({"memory_mb": server_memory_mb(master),
                          "db_connections": database_connections(args.database_url)})  # fmt: skip
    finally:
        stop.set()
        stop_worker(running)
    pairs_rps = sorted(d["rps"] / a["rps"] for a, d in zip(alone, during, strict=True))
    chosen = dict(sorted(during, key=lambda result: result["rps"])[len(during) // 2])
    return {
        **chosen, "streams": STREAMS, "ratio": pairs_rps[len(pairs_rps) // 2],
        "round_ratios": [round(r, 2) for r in pairs_rps], "alone_rps": [round(result["rps"]) for result in alone],
        "during_rps": [round(result["rps"]) for result in during],
        "opened": opened, "refused": refused, "dropped": dropped, "events": len(latencies),
        "event_p50_ms": percentile(latencies, 0.5) if latencies else None,
        "event_p99_ms": percentile(latencies, 0.99) if latencies else None,
        "before": before, "held": held, "churn": churn,
    }  # fmt: skip


def _write(url: str, pairs: list[tuple[str, str]], stop: threading.Event) -> None:
    """WRITES_PER_S task creates for the streaming users, one after another, until `stop`."""
    n = 0
    while not stop.wait(1 / WRITES_PER_S):
        user, token = pairs[n % len(pairs)]
        post(f"{url}/api/{user}/tasks", token, {"title": f"streamed {n}"})
        n += 1


def chat_turns_scenario(args, url: str, measure_list, list_window) -> dict:
    """Per round: the list alone over a window; then TURNS turns sent at once, and, once every one waits
    for the model, the list over the same window (inside the model's --stream-delay); the turns' outcome.
    Then, reported beside it, the list while TURNS users chat back to back (each turn sent as the one
    before is answered): the turns' own cost included."""
    from slow_model import WAITING

    if not args.stream_delay or args.stream_delay < 4:
        sys.exit("chat-turns needs --stream-delay of at least 4 (the fake model's seconds per answer), e.g. 5")
    window = 2  # seconds of list inside the model's delay, once the batch waits for it
    pairs = tokens(f"bench-chat-{secrets.token_hex(3)}-", TURNS)
    alone, during, turns, late = [], [], [], 0
    for _ in range(args.rounds):
        alone.append(list_window(url, window))
        done: list[tuple[int, float]] = []
        stop = threading.Event()
        stop.set()  # one turn each
        chatters = [threading.Thread(target=_chat, args=(url, user, token, stop, done), daemon=True)
                    for user, token in pairs]  # fmt: skip
        started = time.monotonic()
        for chatter in chatters:
            chatter.start()
        while WAITING[0] < TURNS and time.monotonic() - started < args.stream_delay - window - 0.5:
            time.sleep(0.02)
        late += TURNS - WAITING[0]  # turns not yet at the model when the window opened
        during.append(list_window(url, window))
        for chatter in chatters:
            chatter.join(args.stream_delay * 4 + 60)
        turns += done
    sustained_alone, sustained = measure_list(url), None
    stop = threading.Event()
    chatters = [threading.Thread(target=_chat, args=(url, user, token, stop, []), daemon=True)
                for user, token in pairs]  # fmt: skip
    for chatter in chatters:
        chatter.start()
    time.sleep(1)
    sustained = measure_list(url)
    stop.set()
    for chatter in chatters:
        chatter.join(args.stream_delay * 4 + 60)
    ratios = sorted(d["rps"] / a["rps"] for a, d in zip(alone, during, strict=True))
    chosen = dict(sorted(during, key=lambda result: result["rps"])[len(during) // 2])
    answered = [seconds for status, seconds in turns if status == 200]
    return {
        **chosen, "turns_at_once": TURNS, "delay_s": args.stream_delay, "window_s": window,
        "ratio": ratios[len(ratios) // 2], "round_ratios": [round(r, 2) for r in ratios],
        "alone_rps": [round(result["rps"]) for result in alone],
        "during_rps": [round(result["rps"]) for result in during], "turns": len(turns), "completed": len(answered),
        "refused": sum(status == 503 for status, _ in turns),
        "failed": sum(status not in (200, 503) for status, _ in turns), "late": late,
        "turn_p50_s": percentile(answered, 0.5) if answered else None,
        "turn_p99_s": percentile(answered, 0.99) if answered else None, "first_failure": FAILURES[:1],
        "sustained_ratio": sustained["rps"] / sustained_alone["rps"],
    }  # fmt: skip


def _chat(url: str, user: str, token: str, stop: threading.Event, done: list[tuple[int, float]]) -> None:
    """One user's turns, each sent when the one before is answered, until `stop` (one, if it is set already)."""
    while True:
        started = time.monotonic()
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        body = b'{"message": "what is due today?"}'
        request = urllib.request.Request(f"{url}/api/{user}/chat", data=body, method="POST", headers=headers)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310 - loopback
                response.read()
                status = response.status
        except urllib.error.HTTPError as error:
            status = error.code
            if status != 503 and not FAILURES:
                FAILURES.append(error.read().decode(errors="replace")[:300])
        except OSError:
            status = 0
        done.append((status, time.monotonic() - started))
        if stop.is_set():
            return
