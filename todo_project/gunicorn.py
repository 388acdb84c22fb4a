"""gunicorn settings for `make serve`, the benchmark and the soak (gunicorn -c python:todo_project.gunicorn).

gunicorn supervises WEB_CONCURRENCY processes, each running uvicorn's worker (an event loop) with the
application of todo_project/asgi.py: the async path on the loop, the plain API in THREADS threads.
"""

import multiprocessing
import os
import sys
import time

import uvicorn
from gunicorn.arbiter import Arbiter
from uvicorn_worker import UvicornWorker

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = os.environ.get("WEB_WORKER_CLASS", "todo_project.gunicorn.Worker")
threads = int(os.environ.get("THREADS", "8"))  # the sync path's threads (settings.THREADS reads it too)
keepalive = 5
accesslog = os.environ.get("ACCESS_LOG") or None  # the app logs one JSON line per request already
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
timeout = int(os.environ.get("WEB_TIMEOUT", "90"))  # a worker silent this long is restarted
graceful_timeout = int(os.environ.get("WEB_GRACEFUL_TIMEOUT", "30"))
reuse_port = True  # a listening socket per worker (SO_REUSEPORT): the kernel spreads connections across them


class Server(uvicorn.Server):
    """uvicorn's server, which ends the live streams as it shuts down: a stream never ends by itself,
    so it would hold the shutdown (a deploy, a restart) for the whole graceful timeout, its client
    served by a process on its way out. Told at once (`end` `reconnect`), the client reconnects with
    Last-Event-ID to a process that stays; other requests under way finish as before."""

    async def shutdown(self, sockets=None):
        from django.apps import apps

        if apps.ready:  # the app is ours (not the benchmark's bare baseline)
            from events.live import end_streams

            end_streams()
        await super().shutdown(sockets)


class Worker(UvicornWorker):
    """uvicorn's gunicorn worker (httptools, uvloop) with the Server above. On a restart, the requests
    under way get graceful_timeout - 5 s to end (a chat turn waiting for its model); then the ones
    still open are cancelled."""

    CONFIG_KWARGS = {**UvicornWorker.CONFIG_KWARGS, "timeout_graceful_shutdown": max(1, graceful_timeout - 5)}

    async def _serve(self) -> None:
        # UvicornWorker._serve (uvicorn-worker 0.4.0) with this module's Server.
        self.config.app = self.wsgi
        server = Server(config=self.config)
        self._install_sigquit_handler()
        await server.serve(sockets=self.sockets)
        if not server.started:
            sys.exit(Arbiter.WORKER_BOOT_ERROR)


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
