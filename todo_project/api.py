"""HTTP plumbing every app's API shares: error shapes and their OpenAPI responses, strict JSON fields,
the caller's time zone, and the view mixin that names the caller."""

import zoneinfo
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.views import APIView

from todo_project.auth import caller_id

TIME_ZONE_HEADER = "X-Timezone"

if TYPE_CHECKING:  # what the mixins are mixed into, for their self.fields, self.request and super()
    _SerializerBase = serializers.Serializer
    _ViewBase = APIView
else:
    _SerializerBase = _ViewBase = object


# Errors ----------------------------------------------------------------------------------------


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


VALIDATION_ERROR = OpenApiResponse(
    {
        "type": "object",
        "description": "Per-field messages (or `detail` for a body that is not JSON).",
        "additionalProperties": {
            "oneOf": [
                {"type": "array", "items": {"type": "string"}},
                {"type": "string"},
                {"type": "object", "description": "Per-item messages of a bulk request, by item index."},
            ]
        },
    },
    description="Invalid body or query",
)
# Any route, before any view: a body over MAX_REQUEST_BODY_BYTES (IMPORT_MAX_BYTES for an import).
TOO_LARGE = {413: OpenApiResponse(ErrorSerializer, description="The request body is too large")}
# What every API route may answer whatever the request: its token refused, another user's path, a body
# too large, the user's API_RATE spent, or the database (or Better Auth's JWKS) out of reach.
ERRORS = {
    401: OpenApiResponse(ErrorSerializer, description="Missing, malformed, expired or badly signed token"),
    403: OpenApiResponse(ErrorSerializer, description="The path's user_id is not the token's user"),
    **TOO_LARGE,
    429: OpenApiResponse(ErrorSerializer, description="More than API_RATE requests for this user: retry after "
                         "the Retry-After header's seconds"),
    503: OpenApiResponse(ErrorSerializer, description="The database or Better Auth's JWKS is unreachable: "
                         "try again shortly"),
}  # fmt: skip


# The caller ------------------------------------------------------------------------------------


class CallerMixin(_ViewBase):
    """For views under /api/<user_id>/: `self.caller_id` is the verified token's user (IsPathUser has
    checked that the path names the same one), the only user id anything below the view is given."""

    @property
    def caller_id(self) -> str:
        return caller_id(self.request)


def updated_since(request: Request) -> datetime:
    """The moment of an incremental sync's `?updated_since=` (a `+` in its offset may arrive as a space)."""
    since = parse_datetime(request.query_params["updated_since"].replace(" ", "+"))
    if since is None or since.tzinfo is None:
        raise ValidationError({"updated_since": ["Must be an ISO 8601 date and time with an offset."]})
    return since


def time_zone(request: Request) -> ZoneInfo:
    """The caller's IANA time zone from the X-Timezone header (UTC without it); 400 for an unknown name."""
    name = request.headers.get(TIME_ZONE_HEADER) or "UTC"
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError, OSError):  # ZoneInfoNotFoundError is a KeyError
        raise ValidationError(
            {TIME_ZONE_HEADER: [f"Unknown time zone {name!r}; use an IANA name like Europe/Berlin."]}
        ) from None


def time_zone_parameter(description: str) -> OpenApiParameter:
    """The X-Timezone header in the schema: any IANA name the server knows."""
    return OpenApiParameter(
        TIME_ZONE_HEADER,
        {"type": "string", "enum": sorted(zoneinfo.available_timezones())},
        OpenApiParameter.HEADER,
        description=description,
    )


# Strict JSON fields ----------------------------------------------------------------------------


class StrictCharField(serializers.CharField):
    """A JSON string, nothing else (DRF's CharField would turn 42 into "42")."""

    default_error_messages = {"invalid": "Must be a string."}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """A JSON true or false, nothing else (DRF's BooleanField would take "yes" or 1)."""

    default_error_messages = {"invalid": "Must be true or false."}

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer, nothing else (DRF's IntegerField would take "5" or 5.0)."""

    default_error_messages = {"invalid": "Must be an integer."}

    def to_internal_value(self, data: Any) -> int:
        if not isinstance(data, int) or isinstance(data, bool):
            self.fail("invalid")
        return super().to_internal_value(data)


class AwareDateTimeField(serializers.DateTimeField):
    """An ISO 8601 date and time with its offset: a moment, whatever the zone."""

    default_error_messages = {
        "invalid": "Must be an ISO 8601 date and time with a time zone offset, e.g. 2026-12-01T09:00:00Z.",
    }

    def to_internal_value(self, data: Any) -> datetime:
        parsed = parse_datetime(data) if isinstance(data, str) else None
        if parsed is None or parsed.tzinfo is None:
            self.fail("invalid")
        try:
            return parsed.astimezone(UTC)
        except OverflowError:
            raise ValidationError("Must be a moment between the years 1 and 9999 in UTC.") from None


class RejectUnknownFieldsMixin(_SerializerBase):
    """A body field the serializer does not have is a 400, not silently dropped.

    Read-only fields are fields too: a client may send a whole resource back on PUT."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if isinstance(data, Mapping):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)
