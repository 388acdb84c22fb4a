"""gunicorn settings for `make serve` and the benchmark (gunicorn -c python:todo_project.gunicorn).

gthread workers: each process serves THREADS requests at once, so a streaming chat (which holds
its thread for the whole answer) does not block the requests behind it.
"""

import multiprocessing
import os
import time

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = os.environ.get("WEB_WORKER_CLASS", "gthread")
threads = int(os.environ.get("THREADS", "8"))
keepalive = 5
accesslog = os.environ.get("ACCESS_LOG") or None  # the app logs one JSON line per request already
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
timeout = int(os.environ.get("WEB_TIMEOUT", "90"))  # above CHAT_TIMEOUT_SECONDS
reuse_port = True  # a listening socket per worker (SO_REUSEPORT): the kernel spreads connections across them

# Workers that have warmed up, counted across processes: made here, in the master, before it forks them.
_warmed = multiprocessing.Value("i", 0)
START_TOGETHER_SECONDS = 30


def post_worker_init(worker):
    """Warm the worker (todo_project/warmup.py), then wait for the others before accepting a request.

    A worker that is ready alone accepts every connection opened meanwhile and keeps it (keep-alive)
    while the others are still starting: a fresh server then ran at half its throughput (one worker of
    two) until those connections closed. So the first workers start together; one started later (a
    restart) finds the count reached and goes straight on."""
    from django.apps import apps

    if apps.ready:  # the app is ours (the benchmark's bare baseline runs under this file too)
        from todo_project.warmup import warm_worker

        warm_worker(threads)
    with _warmed.get_lock():
        _warmed.value += 1
    deadline = time.monotonic() + START_TOGETHER_SECONDS
    while _warmed.value < workers and time.monotonic() < deadline:
        time.sleep(0.01)
