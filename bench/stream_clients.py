"""Many live streams from one process (the `streams` scenario of bench/live.py starts it).

    python bench/stream_clients.py PORT TOKENS_FILE

TOKENS_FILE holds one "user_id token" per line. Opens a stream (GET /api/<user>/events) for each over a
raw asyncio connection, prints `READY <opened> <refused>` once every one has its response headers, then
reads them all, noting when each event arrives (its CloudEvent `time` is when it was written); on a line
on stdin it closes them all and prints one JSON line: opened, refused, dropped (ended by the server),
events received and their latencies from write to arrival (ms).
"""

import asyncio
import json
import resource
import sys
from datetime import datetime


async def stream(port: int, user: str, token: str, state: dict) -> None:
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        state["refused"] += 1
        state["pending"] -= 1
        return
    writer.write(
        f"GET /api/{user}/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\r\n".encode()
    )
    state["writers"].append(writer)
    try:
        status = await reader.readline()
        while (await reader.readline()) not in (b"\r\n", b""):
            pass
        ok = status.split()[1:2] == [b"200"]
        state["opened" if ok else "refused"] += 1
        state["pending"] -= 1
        if not ok:
            return
        while line := await reader.readline():
            if line.startswith(b'data: {"id"'):  # an event (chunk framing lines are skipped)
                written = datetime.fromisoformat(json.loads(line[6:])["time"].replace("Z", "+00:00"))
                state["latencies"].append((datetime.now(written.tzinfo) - written).total_seconds() * 1000)
        if not state["closing"]:
            state["dropped"] += 1
    except (OSError, asyncio.IncompleteReadError):
        if not state["closing"]:
            state["dropped"] += 1


async def main(port: int, tokens_file: str) -> None:
    pairs = [line.split() for line in open(tokens_file).read().splitlines() if line.strip()]  # noqa: SIM115
    state = {"opened": 0, "refused": 0, "dropped": 0, "pending": len(pairs), "latencies": [], "writers": [],
             "closing": False}  # fmt: skip
    tasks = []
    for user, token in pairs:
        tasks.append(asyncio.ensure_future(stream(port, user, token, state)))
        await asyncio.sleep(0.001)  # open them over a second, as clients do, not in one burst
    while state["pending"]:
        await asyncio.sleep(0.05)
    print(f"READY {state['opened']} {state['refused']}", flush=True)  # noqa: T201
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    state["closing"] = True
    for writer in state["writers"]:
        writer.close()
    await asyncio.gather(*tasks, return_exceptions=True)
    result = {key: state[key] for key in ("opened", "refused", "dropped", "latencies")}
    print(json.dumps(result), flush=True)  # noqa: T201


if __name__ == "__main__":
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 8192)), hard))
    asyncio.run(main(int(sys.argv[1]), sys.argv[2]))
