"""What verifying one token costs, in-process: HS256 and EdDSA (the jwt plugin's default), per token.

    .venv/bin/python bench/tokens.py                  # this checkout, µs per token
    .venv/bin/python bench/tokens.py --against main   # this checkout and main, alternating rounds
    .venv/bin/python bench/tokens.py --against main --instructions 1000   # also: instructions, under valgrind

Each side is a fresh Python of its own importing its own checkout (REV from a temporary git worktree,
bench/compare.py), both verifying the same two tokens against one loopback JWKS that this script serves
(fetched once, before anything is counted), the two sides taking turns to go first. A round's figure is
the best of five batches of --calls verify_token calls; the summary is the median over the rounds, and
with --against the median of the per-round ratios. --instructions N counts what N verifications add
to a run's total under valgrind (callgrind), a figure this VM's noisy clock cannot swing.
"""

import argparse
import json
import os
import re
import secrets
import statistics
import subprocess
import sys
import threading
import time
from contextlib import ExitStack
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jwt
from cryptography.hazmat.primitives.asymmetric import ed25519

ROOT = Path(__file__).resolve().parent.parent
CHILD = """
import json, os, sys, timeit
sys.path.insert(0, os.getcwd())
import django
django.setup()
from todo_project.auth import verify_token
tokens, calls = json.loads(os.environ["BENCH_TOKENS"]), int(os.environ["BENCH_CALLS"])
for token in tokens.values():
    verify_token(token)
if "BENCH_ONLY" in os.environ:  # under valgrind: just the calls
    for _ in range(calls):
        verify_token(tokens[os.environ["BENCH_ONLY"]])
else:
    print(json.dumps({alg: min(timeit.repeat(lambda: verify_token(token), number=calls, repeat=5)) / calls * 1e6
                      for alg, token in tokens.items()}))
"""


def serve_jwks(jwk: dict) -> ThreadingHTTPServer:
    body = json.dumps({"keys": [jwk]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def side(checkout: Path, env: dict[str, str]) -> dict[str, float]:
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", CHILD], cwd=checkout, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        sys.exit(f"{checkout}: {result.stderr}")
    return json.loads(result.stdout)


def instructions(checkout: Path, env: dict[str, str], alg: str, calls: int) -> int:
    """The instructions of a whole run that verifies `calls` tokens of `alg` after the warm-up."""
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, "-c", CHILD]
    env = {**env, "BENCH_ONLY": alg, "BENCH_CALLS": str(calls)}
    result = subprocess.run(command, cwd=checkout, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    collected = re.search(r"Collected : (\d+)", result.stderr)
    if result.returncode != 0 or collected is None:
        sys.exit(f"{checkout}: {result.stderr[-2000:]}")
    return int(collected.group(1))


def compared(figures: dict[str, float], against: str | None, unit: str) -> str:
    line = "  ".join(f"{name}: {value:9.1f} {unit}" for name, value in figures.items())
    return f"{line}  this/{against}: {figures['this'] / figures[against]:.3f}" if against else line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--against", metavar="REV", help="Compare with this git revision, round by round.")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=2000, help="Verifications per batch (default 2000).")
    parser.add_argument("--instructions", type=int, metavar="N", help="Also count the instructions of N calls.")
    args = parser.parse_args()

    key = ed25519.Ed25519PrivateKey.generate()
    jwk = json.loads(jwt.get_algorithm_by_name("EdDSA").to_jwk(key.public_key()))
    server = serve_jwks({**jwk, "kid": "bench", "alg": "EdDSA", "use": "sig"})
    url, secret, now = f"http://127.0.0.1:{server.server_port}", secrets.token_urlsafe(48), int(time.time())
    claims = {"sub": "bench-user", "iat": now, "exp": now + 3600}
    tokens = {
        "HS256": jwt.encode(claims, secret, algorithm="HS256"),
        "EdDSA": jwt.encode({**claims, "iss": url, "aud": url}, key, algorithm="EdDSA", headers={"kid": "bench"}),
    }
    env = {
        **{name: value for name, value in os.environ.items() if not name.startswith(("DJANGO_", "BETTER_AUTH_"))},
        "DJANGO_SETTINGS_MODULE": "todo_project.settings",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(48),
        "BETTER_AUTH_SECRET": secret,
        "BETTER_AUTH_URL": url,
        "DATABASE_URL": "sqlite:///:memory:",
        "LOG_LEVEL": "ERROR",
        "BENCH_TOKENS": json.dumps(tokens),
        "BENCH_CALLS": str(args.calls),
    }
    with ExitStack() as stack:
        sides = {"this": ROOT}
        if args.against:
            from compare import checkout  # bench/compare.py

            _, sides[args.against] = stack.enter_context(checkout(args.against))
        order = list(sides.items())
        rounds = [{name: side(path, env) for name, path in order[:: 1 - 2 * (n % 2)]} for n in range(args.rounds)]
        counted = {}
        if args.instructions:
            for name, path in sides.items():
                warm_up_only = instructions(path, env, "HS256", 0)
                counted[name] = {
                    alg: (instructions(path, env, alg, args.instructions) - warm_up_only) / args.instructions
                    for alg in tokens
                }
    server.shutdown()

    for alg in tokens:
        medians = {name: statistics.median(r[name][alg] for r in rounds) for name in sides}
        line = compared(medians, args.against, "µs")
        if args.against:
            ratio = statistics.median(r["this"][alg] / r[args.against][alg] for r in rounds)
            per_round = ", ".join(f"{r['this'][alg]:.1f}/{r[args.against][alg]:.1f}" for r in rounds)
            line += f" (median of rounds: {ratio:.2f}; rounds: {per_round})"
        print(f"{alg:6} {line}")  # noqa: T201
        if counted:
            print(f"{alg:6} {compared({name: c[alg] for name, c in counted.items()}, args.against, 'instr')}")  # noqa: T201


if __name__ == "__main__":
    main()
