"""The lists REST API: /api/<user_id>/lists. A thin adapter over tasks.services.lists and the selectors."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_view,
)
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from tasks import selectors
from tasks.serializers import TaskListSerializer, TombstoneSerializer, tombstone
from tasks.services import lists
from todo_project.api import ERRORS, VALIDATION_ERROR, CallerMixin, ErrorSerializer, updated_since

NOT_FOUND = {404: OpenApiResponse(ErrorSerializer, description="No such list for this user")}
LIST_ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="The list id.")
MOVE_TASKS_TO = OpenApiParameter(
    "move_tasks_to", {"type": "integer", "minimum": 1},
    description="Move the list's tasks to this list (the Inbox's id included) instead of to the trash with it.",
)  # fmt: skip

UPDATED_SINCE = OpenApiParameter(
    "updated_since", OpenApiTypes.DATETIME,
    description="Incremental sync: the lists changed after this moment, oldest change first, deleted ones as "
    "tombstones {id, deleted: true, deleted_at}.",
)  # fmt: skip
LIST_OR_TOMBSTONE = PolymorphicProxySerializer(
    component_name="TaskListOrTombstone", serializers=[TaskListSerializer, TombstoneSerializer],
    resource_type_field_name=None, many=True,
)  # fmt: skip


@extend_schema_view(
    list=extend_schema(
        summary="The user's lists, in their order, with counts (the Inbox is made on first need)",
        parameters=[UPDATED_SINCE],
        responses={200: LIST_OR_TOMBSTONE, 400: VALIDATION_ERROR, **ERRORS},
    ),
    create=extend_schema(summary="Create a list", responses={201: TaskListSerializer, 400: VALIDATION_ERROR, **ERRORS}),
    retrieve=extend_schema(
        summary="Get a list", parameters=[LIST_ID], responses={200: TaskListSerializer, **ERRORS, **NOT_FOUND}
    ),
    partial_update=extend_schema(
        summary="Change a list (the Inbox keeps its name and is never archived)",
        parameters=[LIST_ID],
        responses={200: TaskListSerializer, 400: VALIDATION_ERROR, **ERRORS, **NOT_FOUND},
    ),
    update=extend_schema(
        summary="Change a list (partial)",
        parameters=[LIST_ID],
        request=TaskListSerializer(partial=True),
        responses={200: TaskListSerializer, 400: VALIDATION_ERROR, **ERRORS, **NOT_FOUND},
    ),
    destroy=extend_schema(
        summary="Delete a list: to the trash with its tasks (restored together), or move them first",
        parameters=[LIST_ID, MOVE_TASKS_TO],
        responses={204: None, 400: VALIDATION_ERROR, **ERRORS, **NOT_FOUND},
    ),
    restore=extend_schema(
        summary="Restore a deleted list with the tasks that went with it",
        parameters=[LIST_ID],
        request=None,
        responses={200: TaskListSerializer, 400: VALIDATION_ERROR, **ERRORS, **NOT_FOUND},
    ),
)
@extend_schema(tags=["lists"])
class ListViewSet(CallerMixin, viewsets.GenericViewSet):
    serializer_class = TaskListSerializer
    lookup_value_regex = r"[0-9]+"

    def list(self, request: Request, user_id: str) -> Response:
        if "updated_since" in request.query_params:
            changes = selectors.list_changes(user_id=self.caller_id, since=updated_since(request))
            return Response([tombstone(item) if item.deleted_at else TaskListSerializer(item).data for item in changes])
        found = selectors.list_all(user_id=self.caller_id)
        if not any(task_list.inbox for task_list in found):
            lists.inbox(user_id=self.caller_id)
            found = selectors.list_all(user_id=self.caller_id)
        return Response(TaskListSerializer(found, many=True).data)

    def create(self, request: Request, user_id: str) -> Response:
        body = TaskListSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        task_list = lists.list_create(user_id=self.caller_id, **body.validated_data)
        return self._answer(task_list.id, status.HTTP_201_CREATED)

    def retrieve(self, request: Request, user_id: str, pk: str) -> Response:
        return self._answer(int(pk))

    def update(self, request: Request, user_id: str, pk: str) -> Response:
        body = TaskListSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        lists.list_update(user_id=self.caller_id, list_id=int(pk), **body.validated_data)
        return self._answer(int(pk))

    partial_update = update

    def destroy(self, request: Request, user_id: str, pk: str) -> Response:
        target = request.query_params.get("move_tasks_to")
        if target is not None and not (target.isascii() and target.isdigit() and 0 < int(target) < 2**63):
            raise ValidationError({"move_tasks_to": ["Must be a list id."]})
        lists.list_delete(
            user_id=self.caller_id, list_id=int(pk), move_tasks_to=None if target is None else int(target)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    @action(detail=True, methods=["post"])
    def restore(self, request: Request, user_id: str, pk: str) -> Response:
        task_list = lists.list_restore(user_id=self.caller_id, list_id=int(pk))
        return self._answer(task_list.id)

    def _answer(self, list_id: int, code: int = status.HTTP_200_OK) -> Response:
        return Response(
            TaskListSerializer(selectors.list_get(user_id=self.caller_id, list_id=list_id)).data, status=code
        )
