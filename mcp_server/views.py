"""/mcp: the SDK's Streamable HTTP transport inside a Django view, so it is served by WSGI (gunicorn) too.

Stateless with JSON responses: each HTTP request is one self-contained exchange (no session to keep
between requests, no stream held open), so the view runs the SDK's ASGI app for that one request and
returns its answer. The token is checked here, before the MCP layer, exactly as the API checks it.
"""

from collections.abc import MutableMapping
from typing import Any, cast

import anyio
from asgiref.sync import async_to_sync
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from mcp.server.transport_security import TransportSecuritySettings
from rest_framework import exceptions
from rest_framework.request import Request

from mcp_server.server import USER_ID, http_server
from todo_project.auth import BetterAuthJWTAuthentication, caller_id
from todo_project.throttling import ApiRateThrottle

PATH = "/mcp"
TIMEOUT_SECONDS = 60
AUTHENTICATION = BetterAuthJWTAuthentication()
# Django already checks Host (ALLOWED_HOSTS), and a Bearer token is no ambient credential a rebinding
# page could borrow; the SDK's own check would only know loopback names.
TRANSPORT_SECURITY = TransportSecuritySettings(enable_dns_rebinding_protection=False)
PRIVATE_HEADERS = {"authorization", "cookie"}  # the tools get the user, not the credential
RESPONSE_HEADERS_SET_BY_DJANGO = {b"content-length"}

Message = dict[str, Any]


@csrf_exempt  # Bearer tokens only: no cookie to forge a request with
def mcp(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        # Stateless: no session to DELETE, and no stream to GET (the SDK would hold this thread open for one).
        response: HttpResponse = JsonResponse({"detail": f'Method "{request.method}" not allowed.'}, status=405)
        response["Allow"] = "POST"
        return response
    # The authentication and the throttle read only META and .user, which this request has as a DRF one would.
    api_request = cast(Request, request)
    try:
        found = AUTHENTICATION.authenticate(api_request)
        if found is None:
            raise exceptions.NotAuthenticated
    except (exceptions.AuthenticationFailed, exceptions.NotAuthenticated) as exc:
        response = JsonResponse({"detail": str(exc.detail)}, status=401)
        response["WWW-Authenticate"] = AUTHENTICATION.authenticate_header(api_request)
        return response
    except exceptions.APIException as exc:  # the JWKS is unreachable: 503, as for the API
        return JsonResponse({"detail": str(exc.detail)}, status=exc.status_code)
    # The request log shows the caller. A TokenUser: the stubs know only Django's auth users.
    request.user = found[0]  # type: ignore[assignment]
    throttle = ApiRateThrottle()
    # No view here, and none needed: the per-user cache key never reads it.
    if not throttle.allow_request(api_request, None):  # type: ignore[arg-type]
        response = JsonResponse({"detail": "Request was throttled."}, status=429)
        response["Retry-After"] = str(max(1, round(throttle.wait() or 1)))
        return response
    try:
        status, headers, body = async_to_sync(serve)(asgi_scope(request, user_id=caller_id(api_request)), request.body)
    except TimeoutError:
        return JsonResponse({"detail": "The MCP request took too long."}, status=504)
    response = HttpResponse(body, status=status)
    for name, value in headers:
        if name.lower() not in RESPONSE_HEADERS_SET_BY_DJANGO:
            response[name.decode("latin-1")] = value.decode("latin-1")
    return response


def asgi_scope(request: HttpRequest, *, user_id: str) -> Message:
    """The ASGI scope of this request, with the caller in its state (where the tools read it)."""
    headers = [
        (name.lower().encode("latin-1"), value.encode("latin-1"))
        for name, value in request.headers.items()
        if name.lower() not in PRIVATE_HEADERS
    ]
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": request.method,
        "scheme": request.scheme,
        "path": PATH,
        "raw_path": PATH.encode(),
        "root_path": "",
        "query_string": request.META.get("QUERY_STRING", "").encode("latin-1"),
        "headers": headers,
        "client": (request.META.get("REMOTE_ADDR", ""), 0),
        "server": (request.META.get("SERVER_NAME", ""), int(request.META.get("SERVER_PORT") or 0)),
        "state": {USER_ID: user_id},
    }


async def serve(scope: Message, body: bytes) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Run the SDK's app for one request; return its status, headers and body."""
    app = http_server().streamable_http_app(
        streamable_http_path=PATH, stateless_http=True, json_response=True, transport_security=TRANSPORT_SECURITY
    )
    answered = anyio.Event()
    request_sent = False
    status, headers, chunks = 500, [], []

    async def receive() -> Message:
        nonlocal request_sent
        if not request_sent:
            request_sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await answered.wait()  # the client stays connected until the answer is complete
        return {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status, headers = message["status"], list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                answered.set()

    # Its session manager runs once, for this request: stateless mode keeps nothing across requests.
    with anyio.fail_after(TIMEOUT_SECONDS):  # a gunicorn thread is never held by an answer that does not come
        async with app.router.lifespan_context(app):
            await app(scope, receive, send)
    return status, headers, b"".join(chunks)
