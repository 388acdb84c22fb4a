"""Request id, one structured log line per request, and an early 413 for oversized bodies."""

import io
import logging
import re
import time
import uuid
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

logger = logging.getLogger("todo.requests")
REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
IMPORT_PATH = re.compile(r"^/api/[^/]+/tasks/import/?$")


class RequestMiddleware:
    """Accepts a well-formed `X-Request-ID` (or makes one), echoes it, and logs the request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        offered = request.headers.get("X-Request-ID", "")
        request_id = offered if REQUEST_ID.match(offered) else uuid.uuid4().hex
        # For the views and handlers below; HttpRequest declares no such attribute, Django requests take ad-hoc ones.
        request.request_id = request_id  # type: ignore[attr-defined]
        response = self._too_large(request) or self.get_response(request)
        response["X-Request-ID"] = request_id
        match = request.resolver_match
        user = getattr(request, "user", None)
        logger.info(
            "request",
            extra={
                "request_id": request_id,
                "user_id": getattr(user, "id", None) if getattr(user, "is_authenticated", False) else None,
                "method": request.method,
                "route": match.route if match else None,
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
            },
        )
        return response

    @staticmethod
    def _too_large(request: HttpRequest) -> HttpResponse | None:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return JsonResponse({"detail": "Invalid Content-Length header."}, status=400)
        limit = settings.IMPORT_MAX_BYTES if IMPORT_PATH.match(request.path) else settings.MAX_REQUEST_BODY_BYTES
        too_large = JsonResponse({"detail": f"Request body too large (limit {limit} bytes)."}, status=413)
        if length > limit:
            return too_large
        if length or "chunked" not in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
            return None
        # A chunked body states no length; the parsers read none without one.
        if "wsgi.input" not in request.META:
            # The async path: the server has read it already, held to the limit as it arrived (asgi.py).
            request.META["CONTENT_LENGTH"] = str(len(request.body))
            return None
        # Read at most one byte past the limit, then hand the views the bytes read, so nothing
        # downstream reads an unbounded stream.
        body = request.META["wsgi.input"].read(limit + 1)
        if len(body) > limit:
            return too_large
        request._stream = io.BytesIO(body)  # WSGIRequest's input
        request.META["CONTENT_LENGTH"] = str(len(body))
        return None
