"""The server's application: one origin, two paths (docs/ARCHITECTURE.md, "Serving: two paths").

Requests that last (the live event stream, chat turns, chat streams, ChatKit) go to Django's ASGI
handler: they wait on the event loop (for the model, for the next event) and hold no thread while they
do. Every other request goes to the WSGI application in a pool of THREADS threads (a2wsgi), as under
gunicorn's gthread worker: the plain API stays synchronous Django, which ran at 0.59 of its gthread speed
under the ASGI handler, 0.88 this way (bench/RESULTS.md, "Eighth session").

`make serve` runs this under gunicorn with uvicorn's worker (todo_project/gunicorn.py); `make run`
under uvicorn alone, reloading on changes.
"""

import os
import re
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "todo_project.settings")

from a2wsgi import WSGIMiddleware
from django.conf import settings
from django.core.asgi import get_asgi_application
from django.core.wsgi import get_wsgi_application

# The routes of the async path: /api/<user_id>/events, /chat, /chat/stream, /chatkit (with or without a slash).
ASYNC_PATHS = re.compile(r"^/api/[^/]+/(?:events|chat|chat/stream|chatkit)/?$")

Scope = dict[str, Any]

django_asgi = get_asgi_application()
django_wsgi = WSGIMiddleware(get_wsgi_application(), workers=settings.THREADS)  # type: ignore[arg-type]


def is_async(scope: Scope) -> bool:
    return scope["type"] == "http" and bool(ASYNC_PATHS.match(scope["path"]))


async def application(scope: Scope, receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
    elif is_async(scope):
        await django_asgi(scope, _bounded(scope, receive, send), send)
    else:
        await django_wsgi(scope, receive, send)  # type: ignore[arg-type]


async def _lifespan(receive: Any, send: Any) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def _bounded(scope: Scope, receive: Any, send: Any) -> Any:
    """`receive`, refusing a body over MAX_REQUEST_BODY_BYTES with a JSON 413 as it arrives.

    Django's ASGI handler reads the whole body before the middleware runs, so the middleware's early
    413 (todo_project/middleware.py) would come after an unbounded upload; a chunked body states no
    length, so it is counted here."""
    limit, received = settings.MAX_REQUEST_BODY_BYTES, 0

    async def bounded() -> dict[str, Any]:
        nonlocal received
        message = await receive()
        received += len(message.get("body", b""))
        if received > limit:
            body = b'{"detail": "Request body too large (limit %d bytes)."}' % limit
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
            await send({"type": "http.response.start", "status": 413, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return {"type": "http.disconnect"}  # Django then drops the request
        return message

    return bounded
