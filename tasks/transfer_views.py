"""Export and import of a user's tasks: GET /api/<user_id>/tasks/export and POST /api/<user_id>/tasks/import."""

from collections.abc import Container, Mapping
from typing import Any

from django.conf import settings
from django.http import StreamingHttpResponse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, ParseError, UnsupportedMediaType, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from tasks import exporting, selectors, services
from tasks.fields import LIST_COLUMN
from tasks.filters import TaskFilter, task_query
from tasks.models import Task
from tasks.openapi import HEAVY, TIME_ZONE
from tasks.serializers import ExportedTaskSerializer, ImportItemSerializer, TaskSerializer
from todo_project import slots
from todo_project.api import ERRORS, VALIDATION_ERROR, CallerMixin, ErrorSerializer, time_zone

CSV_FLAVOUR = OpenApiParameter(
    "csv", str, enum=["safe", "raw"], default="safe",
    description="safe: a text cell that a spreadsheet would run as a formula (= + - @ tab CR) or that starts with ' "
    "gets a leading ' (import takes it off again); raw: every cell verbatim, for programs (lossless).",
)  # fmt: skip


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "Request body too large."


def _csv_raw(request: Request) -> bool:
    flavour = request.query_params.get("csv", "safe")
    if flavour not in {"safe", "raw"}:
        raise ValidationError({"csv": ["Use safe (the default, for spreadsheets) or raw."]})
    return flavour == "raw"


def _body(request: Request, limit: int) -> bytes:
    """The body read from its stream, past Django's DATA_UPLOAD_MAX_MEMORY_SIZE (which request.body enforces);
    the middleware has refused a longer Content-Length already, this holds a body that runs on regardless."""
    stream = request.stream
    data = b"" if stream is None else stream.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLarge(f"Request body too large (limit {limit} bytes).")
    return data


def _exported(task: Task, names: Mapping[int, str | None], orphans: Container[int]) -> dict[str, Any]:
    """A task as the export writes it: its list by name, its parent_id only where the parent is in the file."""
    row = TaskSerializer(task).data
    row[LIST_COLUMN] = None if task.list_id is None else names.get(task.list_id)
    if task.id in orphans:
        row["parent_id"] = None
    return row


@extend_schema(tags=["tasks"])
class TransferViewSet(CallerMixin, viewsets.GenericViewSet):
    serializer_class = TaskSerializer
    # For the schema of the export's parameters (the list's filters); export() runs the FilterSet itself.
    filter_backends = [DjangoFilterBackend]
    filterset_class = TaskFilter

    def get_queryset(self) -> Any:
        return selectors.task_list(user_id=getattr(self.request.user, "id", ""))

    @extend_schema(
        summary="Export the tasks (streamed; the list's filters apply, default: all, newest first)",
        parameters=[OpenApiParameter("format", str, enum=[*exporting.EXPORT_FORMATS], default="json",
                                     description="json (an array of tasks), csv, or ics (iCalendar VTODOs)."),
                    CSV_FLAVOUR],
        responses={(200, "application/json"): ExportedTaskSerializer(many=True), (200, "text/csv"): OpenApiTypes.STR,
                   (200, "text/calendar"): OpenApiTypes.STR, 400: VALIDATION_ERROR, **ERRORS, **HEAVY},
    )  # fmt: skip
    @action(detail=False, methods=["get"])
    def export(self, request: Request, user_id: str) -> StreamingHttpResponse:
        fmt = request.query_params.get("format", "json")
        if fmt not in exporting.EXPORT_FORMATS:
            raise ValidationError({"format": [f"Use one of {', '.join(exporting.EXPORT_FORMATS)}."]})
        raw = _csv_raw(request)
        filters = task_query(user_id=self.caller_id, params=request.query_params)
        if not filters.is_valid():
            raise ValidationError(filters.errors)
        with slots.HEAVY_REQUESTS.slot(self.caller_id) as slot:  # held until the stream ends or is closed
            names = selectors.list_names(user_id=self.caller_id)
            orphans = selectors.task_orphans(filters.qs)  # their parent is not in the file: top-level there
            tasks = filters.ordered().iterator(chunk_size=500)
            rows = exporting.started(_exported(task, names, orphans) for task in tasks)  # a failing query: not a cut
            content = slot.stream(exporting.render(rows, fmt, raw=raw))
        response = StreamingHttpResponse(content, content_type=exporting.EXPORT_FORMATS[fmt])
        response["Content-Disposition"] = f'attachment; filename="tasks.{fmt}"'
        return response

    @extend_schema(
        summary="Import tasks from a JSON or CSV export, all or nothing",
        parameters=[TIME_ZONE, CSV_FLAVOUR],
        description="The body is an export: a JSON array of tasks (application/json), or the CSV export "
        "(text/csv; a header row with at least `title`; `csv` as it was exported), up to IMPORT_MAX_BYTES and "
        "IMPORT_MAX_ROWS tasks. Ids are new; created_at and completed_at are kept. A row's `list` names its list "
        "(found case-insensitively, or made; empty: the Inbox) and its `parent_id` is the `id` of another row of the "
        "file (parents go in before their subtasks). The answer counts the new tasks and gives their ids in the "
        "file's order.",
        request={"application/json": ImportItemSerializer(many=True)},
        responses={201: inline_serializer("Imported", {"imported": serializers.IntegerField(),
                                                       "ids": serializers.ListField(child=serializers.IntegerField())}),
                   400: VALIDATION_ERROR, **ERRORS, **HEAVY, 409: ErrorSerializer, 413: ErrorSerializer,
                   415: ErrorSerializer},
    )  # fmt: skip
    @action(detail=False, methods=["post"], url_path="import", parser_classes=[])
    def import_(self, request: Request, user_id: str) -> Response:
        with slots.HEAVY_REQUESTS.slot(self.caller_id):  # before the body is read: a slow upload holds a thread
            return self._import(request)

    def _import(self, request: Request) -> Response:
        content_type = request.content_type.split(";")[0].strip().lower()
        if content_type not in {"application/json", "text/csv"}:
            raise UnsupportedMediaType(content_type, detail="Send application/json or text/csv (an export).")
        raw = _csv_raw(request)
        try:
            rows = exporting.parse(_body(request, settings.IMPORT_MAX_BYTES), content_type, raw=raw)
        except exporting.ImportFormatError as exc:
            raise ParseError(str(exc)) from None
        if len(rows) > settings.IMPORT_MAX_ROWS:
            limit, found = settings.IMPORT_MAX_ROWS, len(rows)
            raise ValidationError({"tasks": [f"At most {limit} tasks per import (IMPORT_MAX_ROWS); found {found}."]})
        items, errors = [], {}
        for index, row in enumerate(rows):
            body = ImportItemSerializer(data=row)
            if body.is_valid():
                items.append(body.validated_data)
            else:
                errors[index] = body.errors
        if errors:
            # DRF takes any mapping, keyed by item index here (JSON: "0"); its stubs want str keys.
            raise ValidationError({"tasks": errors})  # type: ignore[dict-item]
        del rows
        ids = services.task_import(user_id=self.caller_id, items=items, zone=time_zone(request))
        return Response({"imported": len(ids), "ids": ids}, status=status.HTTP_201_CREATED)
