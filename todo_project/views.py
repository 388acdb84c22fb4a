"""Project-level views: liveness and readiness probes, and JSON error pages under /api/."""

from collections.abc import Callable

from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import api_view, authentication_classes, permission_classes, throttle_classes
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from todo_project.auth import jwks_cache

SERVICE_NAME = "todo-backend"

HealthSerializer = inline_serializer(
    "Health",
    fields={"status": serializers.ChoiceField(["healthy", "unhealthy"]), "service": serializers.CharField()},
)


def probe(view: Callable[[Request], Response]) -> Callable[..., Response]:
    """A GET endpoint for load balancers and orchestrators: no token, never throttled."""
    return api_view(["GET"])(authentication_classes([])(permission_classes([AllowAny])(throttle_classes([])(view))))


@extend_schema(responses={200: HealthSerializer, 503: HealthSerializer}, tags=["health"])
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
    },
)


@extend_schema(responses={200: ReadySerializer, 503: ReadySerializer}, tags=["health"])
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
    return Response({"status": "ready" if healthy else "unready", "checks": checks}, status=200 if healthy else 503)


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


@csrf_exempt  # any method may land here; the answer is a JSON 404, never the CSRF middleware's HTML 403
def api_not_found(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"detail": "Not found."}, status=404)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return api_not_found(request)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return JsonResponse({"detail": "Internal server error."}, status=500)
    return defaults.server_error(request)
