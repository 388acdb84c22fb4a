"""One place that turns exceptions into JSON responses for the API."""

import logging
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from tasks.exceptions import BulkInvalid, IdempotencyKeyReused, QuotaExceeded, TaskChanged, TasksLocked
from todo_project.auth import ServiceUnavailable

logger = logging.getLogger(__name__)


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = "The resource has changed since that version."


class IdempotencyConflict(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "This Idempotency-Key was already used for a different request."


class QuotaConflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "A quota of this user is full."


class LockConflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "Another request is changing some of these tasks."
    default_code = "tasks_locked"
    wait = 2  # Retry-After: the other request is usually done by then
    log_level = logging.WARNING  # the caller's own requests in each other's way, not a fault


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF's handler, plus domain errors (not found, invalid), database outages and a JSON 500."""
    if isinstance(exc, TaskChanged):
        exc = PreconditionFailed(str(exc))
    elif isinstance(exc, QuotaExceeded):
        exc = QuotaConflict(str(exc))
    elif isinstance(exc, TasksLocked):
        exc = LockConflict(str(exc))
    elif isinstance(exc, IdempotencyKeyReused):
        exc = IdempotencyConflict()
    elif isinstance(exc, BulkInvalid):
        exc = exceptions.ValidationError({exc.field: {str(index): errors for index, errors in exc.errors.items()}})
    elif isinstance(exc, ObjectDoesNotExist):
        exc = exceptions.NotFound(str(exc) or None)
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages})
    elif isinstance(exc, (OperationalError, InterfaceError)):
        logger.error("Database unavailable: %s", type(exc).__name__)
        exc = ServiceUnavailable("The database is unavailable. Try again shortly.")
    response = drf_exception_handler(exc, context)
    log_level = getattr(exc, "log_level", None)
    if response is not None and log_level is not None:
        # Expected refusals (a chat turn beyond CHAT_TURNS_PER_WORKER) log at their own level, not as
        # django.request's ERROR for every 5xx.
        logger.log(log_level, "%s: %s", type(exc).__name__, response.status_code)
        response._has_been_logged = True  # type: ignore[attr-defined]  # read by django.utils.log.log_response
    if response is None:
        view = context.get("view")
        logger.exception("Unhandled error in %s", type(view).__name__, exc_info=exc)
        response = Response({"detail": "Internal server error."}, status=status.HTTP_500_INTERNAL_SERVER_ERROR)
    return response
