"""The tasks REST API: a thin adapter over tasks.services, tasks.selectors and tasks.filters."""

import re
from collections.abc import Iterator
from datetime import datetime
from itertools import islice
from typing import Any, cast

from django.http import StreamingHttpResponse
from django.utils.dateparse import parse_datetime
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import UnsupportedMediaType, ValidationError
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from tasks import selectors, services
from tasks.filters import TaskFilter, task_query
from tasks.models import Task
from tasks.openapi import (
    CHANGED,
    HEAVY,
    IDEMPOTENCY_KEY,
    IF_MATCH,
    INCLUDE,
    LIST_RESPONSE,
    LOCKED,
    MOVE_BODY,
    NOT_FOUND,
    PAGINATION_PARAMS,
    SYNC_PARAM,
    TASK_ID,
    TASK_OR_TREE,
    TIME_ZONE,
    task_changes_schema,
)
from tasks.pagination import PARAMS, TaskPagination
from tasks.selectors import OrderKey
from tasks.serializers import (
    BulkCreateSerializer,
    BulkUpdateSerializer,
    CompletionSerializer,
    MoveSerializer,
    TagRenameSerializer,
    TaskSerializer,
    etag_versions,
    render_change,
    render_subtree,
    task_etag,
)
from todo_project import slots
from todo_project.api import (
    ERRORS,
    VALIDATION_ERROR,
    CallerMixin,
    ErrorSerializer,
    time_zone,
    updated_since,
)
from todo_project.auth import caller_id

IDEMPOTENCY_KEY_FORMAT = re.compile(r"[\x20-\x7e]{1,255}")


def _json_array(tasks: Iterator[Task], batch: int = 500) -> Iterator[bytes]:
    """The bytes DRF's JSONRenderer makes of the whole list, rendered a batch of tasks at a time; the first
    batch is read now, so a failing query is an error response rather than a cut one."""
    renderer = JSONRenderer()
    chunks = (
        renderer.render(TaskSerializer(rows, many=True).data)[1:-1]
        for rows in iter(lambda: [*islice(tasks, batch)], [])
    )
    first = next(chunks, b"")
    yield b"[" + first
    yield from (b"," + chunk for chunk in chunks)
    yield b"]"


def _if_match(request: Request) -> list[datetime] | None:
    header = request.headers.get("If-Match")
    return None if header is None else etag_versions(header)


def _with_etag(task: Task, code: int = status.HTTP_200_OK) -> Response:
    return Response(TaskSerializer(task).data, status=code, headers={"ETag": task_etag(task)})


def _idempotent(request: Request, respond: Any) -> Response:
    """Answer `respond()` once per Idempotency-Key (when the request carries one)."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        code, data = respond()
        return Response(data, status=code)
    if not IDEMPOTENCY_KEY_FORMAT.fullmatch(key):
        raise ValidationError({"Idempotency-Key": ["Must be 1 to 255 printable ASCII characters."]})
    method = cast(str, request.method)  # None only on an HttpRequest built by hand, never on one being served
    fingerprint = services.request_fingerprint(method, request.path, request.body)
    code, data, replayed = services.idempotent(
        user_id=caller_id(request), key=key, fingerprint=fingerprint, respond=respond
    )
    return Response(data, status=code, headers={"Idempotent-Replayed": "true"} if replayed else {})


# The list's query parameters. Others (a frontend's own, e.g. ?url_user_id=) are ignored, as the
# contract says; a known one with a bad value is a 400.
LIST_FILTERS = frozenset(TaskFilter.base_filters)
LIST_PARAMS = LIST_FILTERS | {*PARAMS, "updated_since"}


@extend_schema_view(
    list=extend_schema(
        summary="List tasks (filter, search, sort, paginate, sync)",
        description="Without parameters: a plain array of the user's tasks, newest first. With a pagination "
        "parameter: a page `{count, next, results}`. With `updated_since`: the changes (tasks and tombstones), "
        "as an array or, with pagination, a page. Query parameters the list does not know (a frontend's own, "
        "e.g. `url_user_id`) are ignored; a known one with an invalid value is a 400 naming it.",
        parameters=[*PAGINATION_PARAMS, SYNC_PARAM],
        responses={200: LIST_RESPONSE, 400: VALIDATION_ERROR, **ERRORS},
    ),
    create=extend_schema(
        summary="Create a task",
        parameters=[IDEMPOTENCY_KEY, TIME_ZONE],
        responses={201: TaskSerializer, 400: VALIDATION_ERROR, **ERRORS, 422: ErrorSerializer},
        examples=[
            OpenApiExample("A task", value={"title": "Buy milk"}, request_only=True),
            OpenApiExample(
                "A repeating task",
                value={
                    "title": "Water the plants",
                    "priority": "low",
                    "tags": ["home"],
                    "due_at": "2026-12-07T09:00:00+01:00",
                    "recurrence": "FREQ=WEEKLY;BYDAY=MO",
                },
                request_only=True,
            ),
        ],
    ),
    retrieve=extend_schema(
        summary="Get a task",
        parameters=[TASK_ID, OpenApiParameter("If-None-Match", str, OpenApiParameter.HEADER), INCLUDE],
        responses={
            200: TASK_OR_TREE,
            304: OpenApiResponse(description="Not modified"),
            400: VALIDATION_ERROR,
            **ERRORS,
            **NOT_FOUND,
        },
    ),
    update=extend_schema(
        summary="Update a task (partial)",
        parameters=[TASK_ID, IF_MATCH, TIME_ZONE],
        request=TaskSerializer(partial=True),
        responses={200: TaskSerializer, 400: VALIDATION_ERROR, **ERRORS, **NOT_FOUND, **CHANGED},
    ),
    partial_update=extend_schema(
        summary="Update a task (partial)",
        parameters=[TASK_ID, IF_MATCH, TIME_ZONE],
        responses={200: TaskSerializer, 400: VALIDATION_ERROR, **ERRORS, **NOT_FOUND, **CHANGED},
    ),
    destroy=extend_schema(
        summary="Delete a task (to the trash: restorable for TASK_TRASH_DAYS)",
        parameters=[TASK_ID, IF_MATCH],
        responses={204: None, **ERRORS, **NOT_FOUND, **CHANGED},
    ),
    complete=extend_schema(
        summary="Complete, reopen or toggle a task (a repeating task moves to its next occurrence)",
        description='No body (or `{}`) toggles `completed`. `{"completed": true}` completes the task and '
        '`{"completed": false}` reopens it, whatever its state, so a stale page cannot undo a completion '
        "(a repeating task moves to its next occurrence on each completion: send If-Match to complete an "
        "occurrence only once). Any other body is a 400 and changes nothing.",
        parameters=[TASK_ID, IF_MATCH, TIME_ZONE],
        request=CompletionSerializer,
        examples=[OpenApiExample("Complete it", value={"completed": True}, request_only=True)],
        responses={200: TaskSerializer, 400: VALIDATION_ERROR, **ERRORS, **NOT_FOUND, **CHANGED},
    ),
    move=extend_schema(
        summary="Move a task just before or after another (reorder; into that task's list and parent)",
        description='`{"after": 12}` or `{"before": 12}`: the task goes next to task 12 among its siblings '
        "(same list, same parent), taking a position between its new neighbours: one row written. Task 12's "
        "list and parent become the task's (its subtasks follow; the subtask rules of a PATCH apply). When "
        "no position is left between the two, that level's tasks are numbered 1024 apart again first (their "
        "updated_at changes, so a sync sees the new order).",
        parameters=[TASK_ID, IF_MATCH],
        request=MOVE_BODY,
        examples=[OpenApiExample("After task 12", value={"after": 12}, request_only=True)],
        responses={200: TaskSerializer, 400: VALIDATION_ERROR, **ERRORS, **NOT_FOUND, **CHANGED},
    ),
    restore=extend_schema(
        summary="Restore a deleted task",
        parameters=[TASK_ID],
        request=None,
        responses={200: TaskSerializer, **ERRORS, **NOT_FOUND},
    ),
)
@extend_schema(tags=["tasks"])
class TaskViewSet(CallerMixin, viewsets.GenericViewSet):
    serializer_class = TaskSerializer
    # For the schema of the list's parameters; list() runs the FilterSet itself.
    filter_backends = [DjangoFilterBackend]
    filterset_class = TaskFilter

    def get_queryset(self) -> Any:
        return selectors.task_list(user_id=getattr(self.request.user, "id", ""))

    lookup_value_regex = r"[0-9]+"

    def list(self, request: Request, user_id: str) -> Response | StreamingHttpResponse:
        if not LIST_PARAMS.intersection(request.query_params):  # the contract's plain list: no filter set to build
            every = selectors.task_list_all(user_id=self.caller_id)
            if isinstance(every, list):
                return Response(TaskSerializer(every, many=True).data)
            return StreamingHttpResponse(_json_array(every), content_type="application/json")
        pagination = TaskPagination(request)
        if "updated_since" in request.query_params:
            return self._changes(request, pagination)
        filters = task_query(user_id=self.caller_id, params=request.query_params)
        if not filters.is_valid():
            raise ValidationError(filters.errors)
        tasks, keys = filters.ordered(), filters.ordering_keys()
        if pagination.active:
            return Response(pagination.page(tasks, keys, lambda task: TaskSerializer(task).data))
        return Response(TaskSerializer(tasks, many=True).data)

    def _changes(self, request: Request, pagination: TaskPagination) -> Response:
        others = sorted(LIST_FILTERS.intersection(request.query_params))
        if others:
            raise ValidationError(
                {"updated_since": [f"Combines only with limit, cursor and offset, not with {', '.join(others)}."]}
            )
        changes = selectors.task_changes(user_id=self.caller_id, since=updated_since(request))
        if pagination.active:
            keys = (OrderKey("updated_at", descending=False), OrderKey("id", descending=False))
            return Response(pagination.page(changes, keys, render_change))
        return Response([render_change(task) for task in changes])

    def create(self, request: Request, user_id: str) -> Response:
        def respond() -> tuple[int, Any]:
            body = TaskSerializer(data=request.data)
            body.is_valid(raise_exception=True)
            task = services.task_create(user_id=self.caller_id, zone=time_zone(request), **body.validated_data)
            return status.HTTP_201_CREATED, TaskSerializer(task).data

        response = _idempotent(request, respond)
        # TaskSerializer rendered this updated_at (now or when first answered): it always parses.
        updated_at = cast(datetime, parse_datetime(response.data["updated_at"]))
        response["ETag"] = task_etag(Task(updated_at=updated_at))
        return response

    def retrieve(self, request: Request, user_id: str, pk: str) -> Response:
        if "include" in request.query_params:  # the task with its subtree (no ETag: it covers the task only)
            if request.query_params["include"] != "subtasks":
                raise ValidationError({"include": ["Must be subtasks."]})
            return Response(
                render_subtree(selectors.task_subtree(user_id=self.caller_id, task_id=int(pk)), root=int(pk))
            )
        task = selectors.task_get(user_id=self.caller_id, task_id=int(pk))
        known = request.headers.get("If-None-Match")
        if known is not None:
            versions = etag_versions(known.replace("W/", ""))
            if versions is None or task.updated_at in versions:
                return Response(status=status.HTTP_304_NOT_MODIFIED, headers={"ETag": task_etag(task)})
        return _with_etag(task)

    def update(self, request: Request, user_id: str, pk: str) -> Response:
        body = TaskSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        task = services.task_update(
            user_id=self.caller_id, task_id=int(pk), if_match=_if_match(request), zone=time_zone(request),
            **body.validated_data,
        )  # fmt: skip
        return _with_etag(task)

    partial_update = update

    def destroy(self, request: Request, user_id: str, pk: str) -> Response:
        services.task_delete(user_id=self.caller_id, task_id=int(pk), if_match=_if_match(request))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @action(detail=True, methods=["patch"])
    def complete(self, request: Request, user_id: str, pk: str) -> Response:
        if request.body and not request.content_type:  # DRF would read a body without a type as none at all
            raise UnsupportedMediaType("", detail="Send application/json, or no body to toggle.")
        body = CompletionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        task = services.task_set_completed(
            user_id=self.caller_id, task_id=int(pk), completed=body.validated_data.get("completed"),
            if_match=_if_match(request), zone=time_zone(request),
        )  # fmt: skip
        return _with_etag(task)

    @action(detail=True, methods=["post"])
    def move(self, request: Request, user_id: str, pk: str) -> Response:
        body = MoveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        [(side, anchor_id)] = body.validated_data.items()
        task = services.task_move(
            user_id=self.caller_id, task_id=int(pk), side=side, anchor_id=anchor_id, if_match=_if_match(request)
        )
        return _with_etag(task)

    @action(detail=True, methods=["post"])
    def restore(self, request: Request, user_id: str, pk: str) -> Response:
        return _with_etag(services.task_restore(user_id=self.caller_id, task_id=int(pk)))

    @extend_schema(
        summary="Create up to 500 tasks, all or nothing",
        parameters=[IDEMPOTENCY_KEY, TIME_ZONE],
        request=inline_serializer("BulkCreate", {"tasks": TaskSerializer(many=True)}),
        responses={201: inline_serializer("BulkCreated", {"results": TaskSerializer(many=True)}),
                   400: VALIDATION_ERROR, **ERRORS, **HEAVY, 422: ErrorSerializer},
    )  # fmt: skip
    @action(detail=False, methods=["post"])
    def bulk(self, request: Request, user_id: str) -> Response:
        def respond() -> tuple[int, Any]:
            body = BulkCreateSerializer(data=request.data)
            body.is_valid(raise_exception=True)
            tasks = services.task_create_many(
                user_id=self.caller_id, items=body.validated_data["tasks"], zone=time_zone(request)
            )
            return status.HTTP_201_CREATED, {"results": TaskSerializer(tasks, many=True).data}

        with slots.HEAVY_REQUESTS.slot(self.caller_id):  # before the Idempotency-Key is stored
            return _idempotent(request, respond)

    @extend_schema(
        summary="Complete, reopen, delete, restore, tag or untag several tasks, all or nothing",
        parameters=[TIME_ZONE],
        request=BulkUpdateSerializer,
        examples=[OpenApiExample("Tag two tasks", value={"ids": [1, 2], "action": "tag", "tags": ["work"]},
                                 request_only=True)],
        responses={200: inline_serializer("BulkUpdated", {"results": task_changes_schema()}),
                   400: VALIDATION_ERROR, **ERRORS, **HEAVY, **LOCKED},
    )  # fmt: skip
    @action(detail=False, methods=["post"], url_path="bulk-update")
    def bulk_update(self, request: Request, user_id: str) -> Response:
        body = BulkUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        with slots.HEAVY_REQUESTS.slot(self.caller_id):
            tasks = services.task_bulk_update(user_id=self.caller_id, zone=time_zone(request), **body.validated_data)
        return Response({"results": [render_change(task) for task in tasks]})


@extend_schema(tags=["tags"])
class TagViewSet(CallerMixin, viewsets.GenericViewSet):
    lookup_field = "name"
    lookup_value_regex = r"[^/]+"
    serializer_class = None

    @extend_schema(
        summary="The user's tags with the number of tasks carrying each",
        responses={200: inline_serializer("TagCount", {"name": serializers.CharField(),
                                                       "task_count": serializers.IntegerField()}, many=True),
                   **ERRORS},
    )  # fmt: skip
    def list(self, request: Request, user_id: str) -> Response | StreamingHttpResponse:
        tags = selectors.tag_list(user_id=self.caller_id)
        return Response([{"name": tag.name, "task_count": tag.task_count} for tag in tags])

    @extend_schema(
        summary="Rename a tag (onto an existing name: merge)",
        request=TagRenameSerializer,
        responses={200: inline_serializer("Tag", {"name": serializers.CharField()}), 400: VALIDATION_ERROR,
                   **ERRORS, 404: ErrorSerializer},
    )  # fmt: skip
    def partial_update(self, request: Request, user_id: str, name: str) -> Response:
        body = TagRenameSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        new_name = body.validated_data.get("name", name)  # PATCH {} changes nothing
        tag = services.tag_rename(user_id=self.caller_id, name=name, new_name=new_name)
        return Response({"name": tag.name})

    @extend_schema(summary="Delete a tag (the tasks stay)", responses={204: None, **ERRORS, 404: ErrorSerializer})
    def destroy(self, request: Request, user_id: str, name: str) -> Response:
        services.tag_delete(user_id=self.caller_id, name=name)
        return Response(status=status.HTTP_204_NO_CONTENT)
