"""The OpenAPI description of the tasks views' parameters and responses (drf-spectacular), apart from the
views' code."""

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    inline_serializer,
)
from rest_framework import serializers

from tasks.pagination import MAX_OFFSET
from tasks.serializers import (
    TaskSerializer,
    TaskTreeSerializer,
    TombstoneSerializer,
)
from todo_project.api import (
    ErrorSerializer,
    time_zone_parameter,
)

NOT_FOUND = {404: OpenApiResponse(ErrorSerializer, description="No such task for this user")}
CHANGED = {412: OpenApiResponse(ErrorSerializer, description="If-Match names a version that is no longer current")}
LOCKED = {
    409: OpenApiResponse(
        ErrorSerializer,
        description="Another request held some of these tasks longer than "
        "BULK_LOCK_TIMEOUT_MS: nothing written; send it again after Retry-After",
    )
}
# Bulk create, bulk-update, import and export (todo_project/slots.py): bounded per user and per worker.
HEAVY = {
    429: OpenApiResponse(ErrorSerializer, description="More than API_RATE requests for this user, or another bulk, "
                         "import or export of this user still running (HEAVY_REQUESTS_PER_USER at once): nothing "
                         "written; send it again after the Retry-After header's seconds"),
    503: OpenApiResponse(ErrorSerializer, description="This server runs as many bulk, import and export requests as "
                         "it can (HEAVY_REQUESTS_PER_WORKER): nothing written, send it again after Retry-After; or "
                         "the database or Better Auth's JWKS is unreachable"),
}  # fmt: skip
TASK_ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="The task id.")
IF_MATCH = OpenApiParameter(
    "If-Match", str, OpenApiParameter.HEADER, description="Only if the task is still this version (its ETag)."
)
TIME_ZONE = time_zone_parameter(
    "IANA time zone (e.g. Europe/Berlin) of a repeating task's wall time: its next occurrence is computed in it, "
    "so 09:00 stays 09:00 across DST changes, and a new rule's series starts on the rule's first day in it "
    "(FREQ=WEEKLY;BYDAY=MO with a Tuesday due_at is first due the next Monday). Default UTC."
)
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key", {"type": "string", "pattern": "^[\\x20-\\x7e]{1,255}$"}, OpenApiParameter.HEADER,
    description="A unique key per intended creation (e.g. a UUID): a repeat within 24 h answers the first "
    "response again (with `Idempotent-Replayed: true`) and creates nothing. Reusing a key for another body is a 422.",
)  # fmt: skip
PAGINATION_PARAMS = [
    OpenApiParameter(
        "limit",
        {"type": "integer", "minimum": 1, "maximum": 500},
        description="Page size (1-500, default 50). Any pagination parameter turns the answer into an envelope "
        "{count, next, results}; without them it is a plain array.",
    ),
    OpenApiParameter("cursor", str, description="The `next` link's cursor (keyset pagination, fast at any depth)."),
    OpenApiParameter(
        "offset",
        {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET},
        description="Skip this many (instead of cursor).",
    ),
]
SYNC_PARAM = OpenApiParameter(
    "updated_since", OpenApiTypes.DATETIME,
    description="Incremental sync: everything changed after this moment, oldest change first, deleted tasks as "
    "tombstones {id, deleted: true, deleted_at}. Pass the largest updated_at (or deleted_at) you have seen. "
    "Only the pagination parameters combine with it.",
)  # fmt: skip


def task_changes_schema() -> Any:
    """The items of a sync answer or a bulk update: tasks, and tombstones of the deleted ones."""
    return PolymorphicProxySerializer(
        component_name="TaskOrTombstone",
        serializers=[TaskSerializer, TombstoneSerializer],
        resource_type_field_name=None,
        many=True,
    )


def _envelope(name: str, item: Any) -> Any:
    return inline_serializer(
        name, {"count": serializers.IntegerField(), "next": serializers.URLField(allow_null=True), "results": item}
    )


# A list of tasks is also a list of changes: the schema says anyOf, not oneOf (todo_project/schema.py).
LIST_RESPONSE = PolymorphicProxySerializer(
    component_name="TaskListResponse",
    serializers=[
        TaskSerializer(many=True),
        _envelope("TaskPage", TaskSerializer(many=True)),
        task_changes_schema(),
        _envelope("ChangePage", task_changes_schema()),
    ],
    resource_type_field_name=None,
    many=False,
)


INCLUDE = OpenApiParameter(
    "include", str, enum=["subtasks"], description="subtasks: the task with its subtasks nested (every level)."
)
TASK_OR_TREE = PolymorphicProxySerializer(
    component_name="TaskOrTree", serializers=[TaskSerializer, TaskTreeSerializer], resource_type_field_name=None
)


def _move_to(side: str) -> Any:
    return inline_serializer(
        name=f"Move{side.title()}",
        fields={side: serializers.IntegerField(min_value=1, max_value=2**63 - 1, help_text=f"Just {side} this task.")},
    )


MOVE_BODY = PolymorphicProxySerializer(
    component_name="Move", serializers=[_move_to("before"), _move_to("after")], resource_type_field_name=None
)  # fmt: skip
