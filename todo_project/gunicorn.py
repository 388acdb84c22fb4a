"""gunicorn settings for `make serve` and the benchmark (gunicorn -c python:todo_project.gunicorn).

gthread workers: each process serves THREADS requests at once, so a streaming chat (which holds
its thread for the whole answer) does not block the requests behind it.
"""

import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = os.environ.get("WEB_WORKER_CLASS", "gthread")
threads = int(os.environ.get("THREADS", "8"))
keepalive = 5
accesslog = os.environ.get("ACCESS_LOG") or None  # the app logs one JSON line per request already
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
timeout = int(os.environ.get("WEB_TIMEOUT", "90"))  # above CHAT_TIMEOUT_SECONDS
