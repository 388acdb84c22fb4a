"""`bench/run.py --against REV`: this checkout against another git revision, alternating rounds.

REV (a hash, a branch, HEAD~3) is checked out into a temporary `git worktree` (removed at the end,
also on Ctrl-C or an error) and served by the same gunicorn command from there, on --against-port,
next to this checkout's server, both on the benchmark database that run.py prepared: REV must have
exactly our migrations. The load is the same wrk script (this checkout's bench/wrk.lua) for both.
For each scenario, round after round: this checkout, then REV, each with the same warm-up, duration
and connections. The writing scenarios (create, update, toggle) write as a user of their own per
side (bench-writer-1 here, bench-writer-2 for REV, seeded alike), so neither side sees the other's
rows; list and get read the same user.
"""

import json
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from run import APP, BIN, ROOT, log, measure, served, server  # bench/run.py

SCENARIOS = ["list", "get", "create", "update", "toggle", "update-many", "toggle-many"]


def git(*arguments: str, cwd: Path = ROOT) -> str:
    return subprocess.run(["git", *arguments], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()  # noqa: S603, S607


def describe(rev: str) -> str:
    return git("log", "-1", "--format=%h %s", rev)[:90]


def check_args(rev: str, scenarios: list[str]) -> str:
    """Refuse what --against cannot compare before the database is prepared; return REV's commit."""
    others = [scenario for scenario in scenarios if scenario not in SCENARIOS]
    if others:
        sys.exit(f"--against compares {', '.join(SCENARIOS)} only, not {', '.join(others)}.")
    try:
        return git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    except subprocess.CalledProcessError:
        sys.exit(f"--against {rev}: not a revision of this repository.")


@contextmanager
def checkout(rev: str):
    """A detached worktree of REV in a temporary directory, removed (worktree and directory) at the end."""
    commit = check_args(rev, [])
    parent = Path(tempfile.mkdtemp(prefix="todo-bench-against-"))
    path = parent / "checkout"
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a kill cleans up too
    try:
        git("worktree", "add", "--detach", str(path), commit)
        yield commit, path
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(path)], cwd=ROOT, capture_output=True)  # noqa: S603, S607
        shutil.rmtree(parent, ignore_errors=True)
        signal.signal(signal.SIGTERM, previous)


def migrations(root: Path) -> dict[str, bytes]:
    return {str(path.relative_to(root)): path.read_bytes() for path in sorted(root.glob("*/migrations/*.py"))}


def check_checkout(path: Path, rev: str) -> None:
    """Refuse a REV whose migrations differ (both servers share one database), unless this checkout only
    adds some (REV's code runs on a schema with more tables as it did on its own: the events' outbox, say);
    and check that Python started in the checkout imports the checkout's code, not this one's."""
    ours, theirs = migrations(ROOT), migrations(path)
    if any(ours.get(name) != content for name, content in theirs.items()):
        differ = sorted(name for name in ours.keys() | theirs.keys() if ours.get(name) != theirs.get(name))
        sys.exit(f"--against {rev}: its migrations differ from this checkout's ({', '.join(differ)}); both servers "
                 "use the same database, so the comparison needs the same schema.")  # fmt: skip
    probe = "import tasks, todo_project; print(tasks.__file__); print(todo_project.__file__)"
    files = subprocess.run([str(BIN / "python"), "-c", probe], cwd=path, check=True, capture_output=True, text=True)  # noqa: S603
    if not all(Path(file).resolve().is_relative_to(path.resolve()) for file in files.stdout.split()):
        sys.exit(f"Started in {path}, Python imports {files.stdout.split()} (PYTHONPATH or an editable install?).")


def check_imported(pycache: Path, path: Path, other: Path) -> None:
    """Each server writes its bytecode under its own PYTHONPYCACHEPREFIX, which mirrors the absolute
    path of every module it imported: its tasks/views.py must be the one under `path`, and none of the app
    under `other` (the virtualenv, shared, may live under either)."""
    mirror = pycache / path.resolve().relative_to("/")
    if (
        not list((mirror / "tasks").glob("views.*.pyc"))
        or (pycache / other.resolve().relative_to("/") / "tasks").exists()
    ):
        sys.exit(f"The server meant to run {path} imported other code (see {pycache}).")


def body(url: str, path: str, token: str) -> object:
    request = urllib.request.Request(url + path, headers={"Authorization": f"Bearer {token}"})  # noqa: S310 - loopback
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
        return json.loads(response.read())


def summary(rounds: list[dict]) -> dict:
    rps = [result["rps"] for result in rounds]
    median = statistics.median(rps)
    return {
        "rounds": [
            {key: round(r[key], 1) for key in ("rps", "p50_ms", "p99_ms")} | {"errors": r["errors"]} for r in rounds
        ],
        "median_rps": round(median, 1),
        "median_p99_ms": round(statistics.median(result["p99_ms"] for result in rounds), 1),
        "spread": round((max(rps) - min(rps)) / median, 3) if median else None,  # (max - min) / median
        "errors": sum(result["errors"] for result in rounds),
    }


def figures(rounds: list[dict]) -> str:
    return " ".join(f"{result['rps']:.0f}" for result in rounds)


def run_against(args, env: dict[str, str], data: dict, scenarios: list[str]) -> dict:
    rev_data = {**data, "writer": data["rev_writer"], "writer_token": data["rev_writer_token"],
                "writer_task": data["rev_writer_task"], "writer_many_first": data["rev_writer_many_first"]}  # fmt: skip
    dirty = " + uncommitted changes" if git("status", "--porcelain", "--untracked-files=no") else ""
    this = f"{describe('HEAD')}{dirty}"
    with checkout(args.against) as (commit, path):
        rev = describe(commit)
        check_checkout(path, args.against)
        # collectstatic, as run.py does here: WhiteNoise scans STATIC_ROOT at each worker's start.
        collectstatic = [str(BIN / "python"), "manage.py", "collectstatic", "--noinput", "-v0"]
        subprocess.run(collectstatic, cwd=path, env=env, check=True)  # noqa: S603
        log(f"this: {ROOT} at {this}\nREV:  {path} at {rev}")
        results: dict[str, dict] = {}
        # Bytecode on (in a directory of each side's own, out of both checkouts) only to check below
        # which code each server imported; it changes the start, not the requests.
        env = {key: value for key, value in env.items() if key != "PYTHONDONTWRITEBYTECODE"}
        this_env = {**env, "PYTHONPYCACHEPREFIX": str(path.parent / "pycache-this")}
        rev_app, rev_serving = served(path)
        rev_env = {**env, **rev_serving, "PYTHONPYCACHEPREFIX": str(path.parent / "pycache-rev")}
        with (
            server(APP, args.port, this_env, "/health") as url,
            server(rev_app, args.against_port, rev_env, "/health", cwd=path) as rev_url,
        ):
            for route in (f"/api/{data['reader']}/tasks", f"/api/{data['reader']}/tasks/{data['reader_task']}"):
                if body(url, route, data["reader_token"]) != body(rev_url, route, data["reader_token"]):
                    log(f"WARNING: REV answers {route} with other JSON than this checkout: different work.")
            check_imported(path.parent / "pycache-this", ROOT, path)
            check_imported(path.parent / "pycache-rev", path, ROOT)
            log("Checked: each server imported its own checkout's code.")
            for scenario in scenarios:
                ours, theirs = [], []
                for number in range(1, args.rounds + 1):
                    ours.append(measure(args, url, scenario, data))
                    theirs.append(measure(args, rev_url, scenario, rev_data))
                    log(f"  {scenario:<7} round {number}/{args.rounds}: this {ours[-1]['rps']:>6.0f} req/s "
                        f"p99 {ours[-1]['p99_ms']:>6.1f} ms | REV {theirs[-1]['rps']:>6.0f} req/s "
                        f"p99 {theirs[-1]['p99_ms']:>6.1f} ms")  # fmt: skip
                this_side, rev_side = summary(ours), summary(theirs)
                results[scenario] = {
                    "this": this_side,
                    "rev": rev_side,
                    "ratio": round(this_side["median_rps"] / rev_side["median_rps"], 3),
                    "round_ratios": [round(o["rps"] / t["rps"], 3) for o, t in zip(ours, theirs, strict=True)],
                }
    log("\n" + report(results, this, rev))
    return {"this": this, "rev": rev, "rev_commit": commit, "rounds": args.rounds, "scenarios": results}


def report(results: dict, this: str, rev: str) -> str:
    lines = [
        f"this = {this}\nREV  = {rev}\n",
        "| scenario | this req/s, per round | spread | p99 ms | REV req/s, per round | spread | p99 ms "
        "| this/REV (medians) | per-round ratios | errors |",
        "|---|---|---:|---:|---|---:|---:|---:|---|---:|",
    ]
    for scenario, result in results.items():
        ours, theirs = result["this"], result["rev"]
        ratios = ", ".join(f"{ratio:.2f}" for ratio in result["round_ratios"])
        lines.append(
            f"| {scenario} | {figures(ours['rounds'])} | {ours['spread']:.0%} | {ours['median_p99_ms']:.1f} "
            f"| {figures(theirs['rounds'])} | {theirs['spread']:.0%} | {theirs['median_p99_ms']:.1f} "
            f"| **{result['ratio']:.2f}** | {ratios} | {ours['errors']} / {theirs['errors']} |"
        )
    lines.append(
        "\nthis/REV > 1: this checkout is faster. spread: (max - min) / median of one side's rounds; p99: the "
        "median of the rounds' p99. Within noise: the ratio is no farther from 1.00 than the larger spread."
    )
    for scenario, result in results.items():
        noise = max(result["this"]["spread"] or 0, result["rev"]["spread"] or 0)
        verdict = "within" if abs(result["ratio"] - 1) <= noise else "OUTSIDE"
        low, high = min(result["round_ratios"]), max(result["round_ratios"])
        lines.append(f"{scenario}: this/REV {result['ratio']:.2f} (rounds {low:.2f}-{high:.2f}), {verdict} "
                     f"the noise (same-side spread up to {noise:.0%})")  # fmt: skip
    return "\n".join(lines)
