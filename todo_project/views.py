"""Project-level views: what answers at /, liveness and readiness probes, the cached OpenAPI schema,
and JSON error pages."""

import threading
from collections.abc import Callable
from typing import Any, ClassVar

from django.conf import settings
from django.core.signals import setting_changed
from django.db import DatabaseError, connection
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import extend_schema, inline_serializer
from drf_spectacular.views import SpectacularAPIView
from rest_framework import serializers
from rest_framework.decorators import api_view, authentication_classes, permission_classes, throttle_classes
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from events import relay
from todo_project.api import TOO_LARGE
from todo_project.auth import jwks_cache
from todo_project.throttling import SchemaRateThrottle

SERVICE_NAME = "todo-backend"

HealthSerializer = inline_serializer(
    "Health",
    fields={"status": serializers.ChoiceField(["healthy", "unhealthy"]), "service": serializers.CharField()},
)


def probe(view: Callable[[Request], Response]) -> Callable[..., Response]:
    """A GET endpoint for load balancers and orchestrators: no token, never throttled."""
    return api_view(["GET"])(authentication_classes([])(permission_classes([AllowAny])(throttle_classes([])(view))))


@extend_schema(responses={200: HealthSerializer, 503: HealthSerializer, **TOO_LARGE}, tags=["health"])
@probe
def health(request: Request) -> Response:
    """Liveness: the process answers and the database accepts a query."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return Response({"status": "unhealthy", "service": SERVICE_NAME, "database": "unreachable"}, status=503)
    return Response({"status": "healthy", "service": SERVICE_NAME})


ReadySerializer = inline_serializer(
    "Ready",
    fields={
        "status": serializers.ChoiceField(["ready", "unready"]),
        "checks": serializers.DictField(child=serializers.CharField()),
        "events": inline_serializer(
            "EventsBacklog",
            fields={
                "pending": serializers.IntegerField(help_text="Events not yet relayed to the broker."),
                "oldest_seconds": serializers.FloatField(help_text="The oldest one's age (0: none)."),
            },
            required=False,
            help_text="The outbox's backlog (with a reachable database).",
        ),
    },
)


@extend_schema(responses={200: ReadySerializer, 503: ReadySerializer, **TOO_LARGE}, tags=["health"])
@probe
def ready(request: Request) -> Response:
    """Readiness: the database answers and, when configured, Better Auth's JWKS has keys."""
    checks = {"database": "ok", "jwks": "not configured"}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        checks["database"] = "unreachable"
    keys = jwks_cache()
    if keys is not None:
        checks["jwks"] = "ok" if keys.ready() else "unreachable"
    healthy = checks["database"] == "ok" and checks["jwks"] != "unreachable"
    body: dict[str, object] = {"status": "ready" if healthy else "unready", "checks": checks}
    if checks["database"] == "ok":  # the events not yet relayed (the API answers without the broker)
        body["events"] = relay.backlog()
    return Response(body, status=200 if healthy else 503)


ServiceSerializer = inline_serializer(
    "Service",
    fields={
        "service": serializers.CharField(),
        "docs": serializers.CharField(),
        "schema": serializers.CharField(),
        "health": serializers.CharField(),
    },
)


@extend_schema(responses={200: ServiceSerializer, **TOO_LARGE}, tags=["health"])
@probe
def index(request: Request) -> Response:
    """What answers here, and where its documentation and health probe are."""
    return Response(
        {"service": SERVICE_NAME, "docs": reverse("docs"), "schema": reverse("schema"), "health": reverse("health")}
    )


class SchemaView(SpectacularAPIView):
    """The OpenAPI schema, rendered once per process and format (it changes only with the code) and
    throttled per client address (SCHEMA_RATE): it is public, large, and costly to generate."""

    throttle_classes = [SchemaRateThrottle]
    _rendered: ClassVar[dict[str, tuple[str | bytes, str]]] = {}
    _lock = threading.Lock()

    @extend_schema(exclude=True)  # as SERVE_INCLUDE_SCHEMA says for drf-spectacular's own view
    def get(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponse:
        renderer = request.accepted_renderer
        with self._lock:  # one generation per format, however many requests arrive at once
            if renderer.media_type not in self._rendered:
                response = self._get_schema_response(request)
                body = renderer.render(response.data, renderer.media_type, {"request": request, "view": self})
                self._rendered[renderer.media_type] = (body, response["Content-Disposition"])
        body, disposition = self._rendered[renderer.media_type]
        charset = f"; charset={renderer.charset}" if renderer.charset else ""
        return HttpResponse(
            body, content_type=renderer.media_type + charset, headers={"Content-Disposition": disposition}
        )

    def handle_exception(self, exc: Exception) -> Response:
        """Errors (429, 405) in JSON like every other, not in the schema's YAML."""
        self.request.accepted_renderer, self.request.accepted_media_type = JSONRenderer(), "application/json"
        return super().handle_exception(exc)


@receiver(setting_changed)
def _forget_rendered_schema(**kwargs: Any) -> None:
    SchemaView._rendered.clear()  # settings (e.g. CHAT_MAX_MESSAGE_CHARS) shape the schema; tests change them


# Errors outside DRF's views: JSON on every path, in production and debug alike; only the admin's own
# pages keep Django's HTML ones.


def _is_admin(request: HttpRequest) -> bool:
    return request.path.startswith(f"/{settings.ADMIN_URL}")


@csrf_exempt  # any method may land here; the answer is a JSON 404, never the CSRF middleware's HTML 403
def no_route(request: HttpRequest) -> HttpResponse:
    """The last route: whatever no other route matches (outside the admin) is a JSON 404."""
    return JsonResponse({"detail": "Not found."}, status=404)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's refusals before any view (a Host not in ALLOWED_HOSTS, a malformed header or body)."""
    if _is_admin(request):
        return defaults.bad_request(request, exception)
    return JsonResponse({"detail": "Bad request."}, status=400)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_admin(request):
        return defaults.permission_denied(request, exception)
    return JsonResponse({"detail": "Forbidden."}, status=403)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_admin(request):
        return defaults.page_not_found(request, exception)
    return no_route(request)


def server_error(request: HttpRequest) -> HttpResponse:
    if _is_admin(request):
        return defaults.server_error(request)
    return JsonResponse({"detail": "Internal server error."}, status=500)
