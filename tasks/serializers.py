"""HTTP shapes of a task. Lengths, nullability and defaults come from the model's fields."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from django.core.validators import RegexValidator
from django.db import models
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from tasks.fields import LIST_COLUMN, PUBLIC_NAMES, READ_ONLY_NAMES, TASK_FIELDS, TaskField
from tasks.models import INT32, PRIORITIES, PRIORITY_NAMES, Task, TaskList
from tasks.selectors import tag_list_of
from todo_project.api import (
    AwareDateTimeField,
    RejectUnknownFieldsMixin,
    StrictBooleanField,
    StrictCharField,
    StrictIntegerField,
)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class TagsField(serializers.ListField):
    """Tag names: read from the query's tag_names (one query for a whole list), written as a list."""

    def get_attribute(self, instance: Task) -> list[str]:
        return tag_list_of(instance)


class PriorityField(serializers.ChoiceField):
    """The priority's name (stored as a number so that it sorts by importance)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=list(PRIORITIES), **kwargs)

    def get_attribute(self, instance: Task) -> str:
        return PRIORITY_NAMES[instance.priority]


class TaskSerializer(RejectUnknownFieldsMixin, serializers.ModelSerializer):
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: StrictCharField,
        models.BooleanField: StrictBooleanField,
    }

    priority = PriorityField(required=False, help_text="Default none.")
    tags = TagsField(
        child=StrictCharField(max_length=50),
        max_length=20,
        required=False,
        help_text="Tag names (created on first use; stored lowercase). On update, the new complete list.",
    )
    due_at = AwareDateTimeField(required=False, allow_null=True, help_text="When it is due, with an offset.")
    recurrence = StrictCharField(
        required=False,
        allow_null=True,
        max_length=200,
        help_text="Repeat rule (RFC 5545 RRULE subset: FREQ, INTERVAL, BYDAY, BYMONTHDAY, BYMONTH, COUNT, UNTIL), "
        "e.g. FREQ=WEEKLY;BYDAY=MO,WE. Needs due_at. Completing the task moves it to the next occurrence.",
    )
    position = StrictIntegerField(
        required=False, min_value=-INT32, max_value=INT32, help_text="Manual order (ordering=position)."
    )
    list_id = StrictIntegerField(
        required=False, allow_null=True, min_value=1, max_value=2**63 - 1,
        help_text="The task's list (GET /lists); null: the Inbox. Default the Inbox, or the parent's list.",
    )  # fmt: skip
    parent_id = StrictIntegerField(
        required=False, allow_null=True, min_value=1, max_value=2**63 - 1,
        help_text="The task this one is a subtask of (same list; at most 3 levels deep); null: a top-level task.",
    )  # fmt: skip

    class Meta:
        model = Task
        fields = list(PUBLIC_NAMES)
        read_only_fields = list(READ_ONLY_NAMES)

    def to_representation(self, task: Task) -> dict[str, Any]:
        # The hot path of every response: one generated function instead of DRF's field-by-field walk
        # (about 8x faster for a list). tests/tasks/test_serializers.py proves it equals DRF's output.
        return _render(task)


def _read(field: TaskField) -> str:
    """How the fast rendering reads a field of a task (an expression over `task`), by its kind."""
    name = field.name
    if field.kind == "datetime":
        read = f"iso_datetime(task.{name})"
        return f"{read} if task.{name} is not None else None" if field.nullable else read
    if field.kind == "priority":
        return f"PRIORITY_NAMES[task.{name}]"
    if field.kind == "tags":
        return "tag_list_of(task)"
    return f"task.{name}"


def _renderer(fields: tuple[TaskField, ...]) -> Callable[[Task], dict[str, Any]]:
    """A task as a dict, written out as one dict display from the field declarations (the way
    `dataclasses` writes an `__init__`): a call per task rather than one per field, which a list pays
    for every field of every task. The names are the declaration's own identifiers, never input."""
    assert all(field.name.isidentifier() for field in fields)  # noqa: S101 - a declaration error, at import
    items = "".join(f"        {field.name!r}: {_read(field)},\n" for field in fields)
    namespace = {"iso_datetime": iso_datetime, "PRIORITY_NAMES": PRIORITY_NAMES, "tag_list_of": tag_list_of}
    exec(f"def render(task):\n    return {{\n{items}    }}\n", namespace)  # noqa: S102 - see above
    return cast(Callable[[Task], dict[str, Any]], namespace["render"])


class TaskListSerializer(RejectUnknownFieldsMixin, serializers.ModelSerializer):
    serializer_field_mapping = TaskSerializer.serializer_field_mapping

    name = StrictCharField(max_length=100, help_text="1-100 characters, unique per user (case-insensitive).")
    color = StrictCharField(
        max_length=7, required=False, allow_null=True, help_text="A colour as #rrggbb, or null.",
        validators=[RegexValidator(r"^#[0-9a-fA-F]{6}$", "Must be a colour as #rrggbb.")],
    )  # fmt: skip
    position = StrictIntegerField(
        required=False, min_value=-INT32, max_value=INT32, help_text="The lists' order (ascending; the Inbox is -1)."
    )
    inbox = StrictBooleanField(read_only=True, help_text="The Inbox: it holds the tasks without a list (list_id null).")
    open_count = serializers.IntegerField(read_only=True, help_text="Its pending tasks.")
    overdue_count = serializers.IntegerField(read_only=True, help_text="Its pending tasks past due.")

    class Meta:
        model = TaskList
        fields = ["id", "name", "color", "position", "archived", "inbox", "open_count", "overdue_count",
                  "created_at", "updated_at"]  # fmt: skip
        read_only_fields = ["id", "inbox", "open_count", "overdue_count", "created_at", "updated_at"]


class TombstoneSerializer(serializers.Serializer):
    """A deleted task in a sync answer."""

    id = serializers.IntegerField()
    deleted = serializers.BooleanField(help_text="Always true.")
    deleted_at = serializers.DateTimeField()


def render_change(task: Task) -> dict[str, Any]:
    """A sync item: the task, or its tombstone when it was deleted."""
    return tombstone(task) if task.deleted_at is not None else TaskSerializer(task).data


def tombstone(item: Task | TaskList) -> dict[str, Any]:
    """A deleted task or list in a sync answer (TombstoneSerializer's shape)."""
    return {"id": item.id, "deleted": True, "deleted_at": iso_datetime(cast(datetime, item.deleted_at))}


@extend_schema_field({"type": "array", "items": {"$ref": "#/components/schemas/TaskTree"}})
class SubtasksField(serializers.ListField):
    pass


class TaskTreeSerializer(TaskSerializer):
    """For the schema: a task with its subtasks, each with theirs (render_subtree renders it)."""

    subtasks = SubtasksField(child=serializers.DictField(), read_only=True, help_text="In position order.")

    class Meta(TaskSerializer.Meta):
        fields = [*TaskSerializer.Meta.fields, "subtasks"]


def render_subtree(tasks: list[Task], *, root: int) -> dict[str, Any]:
    """The task `root` with its subtasks nested under `subtasks` (at every level), from task_subtree."""
    rendered = {task.id: {**TaskSerializer(task).data, "subtasks": []} for task in tasks}
    for task in tasks:  # in sibling order already
        if task.id != root and task.parent_id in rendered:
            rendered[task.parent_id]["subtasks"].append(rendered[task.id])
    return rendered[root]


def task_etag(task: Task) -> str:
    """The task's version as a strong entity tag: its updated_at in microseconds."""
    return f'"{(task.updated_at - EPOCH) // timedelta(microseconds=1):x}"'


def etag_versions(header: str) -> list[datetime] | None:
    """The versions named by an If-Match / If-None-Match header; None for "*" (any version)."""
    versions = []
    for tag in header.split(","):
        tag = tag.strip()
        if tag == "*":
            return None
        if tag.startswith('"') and tag.endswith('"') and len(tag) > 2:
            try:
                versions.append(EPOCH + timedelta(microseconds=int(tag[1:-1], 16)))
            except (ValueError, OverflowError):
                continue
    return versions


def iso_datetime(value: datetime) -> str:
    """DRF's ISO 8601 rendering of an aware datetime in UTC (with "Z")."""
    text = value.astimezone(UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


class BulkCreateSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    # many=True hands min_length and max_length to the TaskListSerializer; the stubs only know the child's kwargs.
    tasks = TaskSerializer(many=True, min_length=1, max_length=500)  # type: ignore[call-arg]

    def to_internal_value(self, data: Any) -> Any:
        try:
            return super().to_internal_value(data)
        except ValidationError as exc:
            raise ValidationError(_by_index(exc.detail)) from None


class BulkUpdateSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    ids = serializers.ListField(
        child=StrictIntegerField(min_value=1, max_value=2**63 - 1), min_length=1, max_length=500
    )
    action = serializers.ChoiceField(choices=["complete", "reopen", "delete", "restore", "tag", "untag"])
    tags = serializers.ListField(
        child=StrictCharField(max_length=50), required=False, max_length=20, help_text="For tag and untag."
    )


class CompletionSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """The body of PATCH …/complete: none (or {}) toggles; `completed` sets that state."""

    completed = StrictBooleanField(
        required=False, help_text="true completes the task (a repeating one moves on), false reopens it."
    )


class ExportedTaskSerializer(TaskSerializer):
    """For the schema: a task in a JSON export, its list by name (the export adds `list` to TaskSerializer's
    rendering, and writes parent_id only where the parent is in the file)."""

    list = StrictCharField(
        required=False, allow_null=True, allow_blank=True, max_length=100,
        help_text="The task's list by name; null, empty or Inbox: the Inbox. An import finds the list of that name "
        "(case-insensitively) or makes it.",
    )  # fmt: skip

    class Meta(TaskSerializer.Meta):
        fields = [*TaskSerializer.Meta.fields, LIST_COLUMN]


class MoveSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """The body of POST …/move: exactly one of before and after, a task id."""

    before = StrictIntegerField(required=False, min_value=1, max_value=2**63 - 1, help_text="Just before this task.")
    after = StrictIntegerField(required=False, min_value=1, max_value=2**63 - 1, help_text="Just after this task.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if len(attrs) != 1:
            raise ValidationError({"non_field_errors": ["Give exactly one of before and after."]})
        return attrs


class ImportItemSerializer(ExportedTaskSerializer):
    """A task from an export: its other read-only fields are ignored, but created_at and completed_at are kept, and
    `id` is what another row's parent_id refers to (ids of lists and tasks do not travel between users)."""

    id = StrictIntegerField(
        required=False, allow_null=True, help_text="The row's id in the file, for other rows' parent_id (not kept)."
    )
    created_at = serializers.DateTimeField(required=False)
    completed_at = serializers.DateTimeField(required=False, allow_null=True)
    list_id = StrictIntegerField(read_only=True, allow_null=True)  # `list` names it
    parent_id = StrictIntegerField(
        required=False, allow_null=True,
        help_text="The `id` of the row of the same file this task is a subtask of (in that task's list).",
    )  # fmt: skip


def _by_index(detail: Any) -> Any:
    """DRF reports a list's errors as a list with {} for valid items; report the invalid ones by index."""
    if isinstance(detail, dict) and isinstance(detail.get("tasks"), list):
        return {**detail, "tasks": {str(i): e for i, e in enumerate(detail["tasks"]) if e}}
    return detail


class TagRenameSerializer(serializers.Serializer):
    name = StrictCharField(max_length=50, required=False)

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict) and set(data) - {"name"}:
            raise ValidationError({name: ["Unknown field."] for name in set(data) - {"name"}})
        return super().to_internal_value(data)


_render = _renderer(TASK_FIELDS)
render_task = _render  # a task as the API renders it, for those who need no serializer (its events)
