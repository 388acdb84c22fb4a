"""The tasks REST API: a thin adapter over tasks.services and tasks.selectors."""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from tasks import selectors, services
from tasks.serializers import ErrorSerializer, TaskListQuerySerializer, TaskSerializer

VALIDATION_ERROR = OpenApiResponse(
    {
        "type": "object",
        "description": "Per-field messages (or `detail` for a body that is not JSON).",
        "additionalProperties": {"oneOf": [{"type": "array", "items": {"type": "string"}}, {"type": "string"}]},
    },
    description="Invalid body",
)
ERRORS = {
    401: OpenApiResponse(ErrorSerializer, description="Missing, malformed, expired or badly signed token"),
    403: OpenApiResponse(ErrorSerializer, description="The path's user_id is not the token's user"),
}
NOT_FOUND = {404: OpenApiResponse(ErrorSerializer, description="No such task for this user")}
TASK_ID = [OpenApiParameter("id", int, OpenApiParameter.PATH, description="The task id.")]


@extend_schema_view(
    list=extend_schema(
        summary="List tasks",
        parameters=[TaskListQuerySerializer],
        responses={200: TaskSerializer(many=True), 400: VALIDATION_ERROR, **ERRORS},
    ),
    create=extend_schema(summary="Create a task", responses={201: TaskSerializer, 400: VALIDATION_ERROR, **ERRORS}),
    retrieve=extend_schema(
        summary="Get a task", parameters=TASK_ID, responses={200: TaskSerializer, **ERRORS, **NOT_FOUND}
    ),
    update=extend_schema(
        summary="Update a task (partial)",
        parameters=TASK_ID,
        request=TaskSerializer(partial=True),
        responses={200: TaskSerializer, 400: VALIDATION_ERROR, **ERRORS, **NOT_FOUND},
    ),
    partial_update=extend_schema(
        summary="Update a task (partial)",
        parameters=TASK_ID,
        responses={200: TaskSerializer, 400: VALIDATION_ERROR, **ERRORS, **NOT_FOUND},
    ),
    destroy=extend_schema(summary="Delete a task", parameters=TASK_ID, responses={204: None, **ERRORS, **NOT_FOUND}),
    complete=extend_schema(
        summary="Toggle completion",
        parameters=TASK_ID,
        request=None,
        responses={200: TaskSerializer, **ERRORS, **NOT_FOUND},
    ),
)
@extend_schema(tags=["tasks"])
class TaskViewSet(viewsets.GenericViewSet):
    serializer_class = TaskSerializer
    lookup_value_regex = r"[0-9]+"

    def list(self, request: Request, user_id: str) -> Response:
        query = TaskListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        tasks = selectors.task_list(user_id=request.user.id, **query.validated_data)
        return Response(TaskSerializer(tasks, many=True).data)

    def create(self, request: Request, user_id: str) -> Response:
        body = TaskSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        task = services.task_create(user_id=request.user.id, **body.validated_data)
        return Response(TaskSerializer(task).data, status=status.HTTP_201_CREATED)

    def retrieve(self, request: Request, user_id: str, pk: str) -> Response:
        task = selectors.task_get(user_id=request.user.id, task_id=int(pk))
        return Response(TaskSerializer(task).data)

    def update(self, request: Request, user_id: str, pk: str) -> Response:
        body = TaskSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        task = services.task_update(user_id=request.user.id, task_id=int(pk), **body.validated_data)
        return Response(TaskSerializer(task).data)

    partial_update = update

    def destroy(self, request: Request, user_id: str, pk: str) -> Response:
        services.task_delete(user_id=request.user.id, task_id=int(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @action(detail=True, methods=["patch"])
    def complete(self, request: Request, user_id: str, pk: str) -> Response:
        task = services.task_toggle(user_id=request.user.id, task_id=int(pk))
        return Response(TaskSerializer(task).data)
