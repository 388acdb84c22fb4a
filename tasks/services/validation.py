"""The rules every write of a task checks: field values, tag names, and what a repeating task needs."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db.models import Field
from django.utils import timezone

from tasks.fields import EDITABLE_NAMES
from tasks.models import PRIORITIES, Tag, Task, TaskList
from tasks.recurrence import RecurrenceError, first_occurrence, normalize_rule

EDITABLE_FIELDS = EDITABLE_NAMES
MAX_TAGS_PER_TASK = 20
NEEDS_DUE = "A repeating task needs a due_at to repeat from."


def clean_tag_name(name: object) -> str:
    """Tag names are trimmed, lowercase, single-spaced; no commas, slashes or '#' (they separate tags
    in CSV, URLs and chat)."""
    if not isinstance(name, str):
        raise ValidationError("A tag name must be a string.")
    cleaned = " ".join(name.split()).lower()
    if not cleaned:
        raise ValidationError("A tag name cannot be blank.")
    if len(cleaned) > cast(int, Tag._meta.get_field("name").max_length):  # max_length=50
        raise ValidationError("A tag name has at most 50 characters.")
    if any(char in cleaned for char in ",/#\x00"):
        raise ValidationError("A tag name cannot contain ',', '/' or '#'.")
    return cleaned


def clean_tags(value: object) -> list[str]:
    """A task's tag names: cleaned, sorted, without repeats, at most MAX_TAGS_PER_TASK."""
    if not isinstance(value, list | tuple):
        raise ValidationError("Must be a list of tag names.")
    names = sorted({clean_tag_name(name) for name in value})
    if len(names) > MAX_TAGS_PER_TASK:
        raise ValidationError(f"At most {MAX_TAGS_PER_TASK} tags per task.")
    return names


def _clean_value(name: str, value: Any) -> Any:
    if name == "priority":
        if value not in PRIORITIES:
            raise ValidationError(f"Must be one of {', '.join(PRIORITIES)}.")
        return PRIORITIES[value]
    if name == "tags":
        return clean_tags(value)
    if name == "due_at" and value is not None:
        if not isinstance(value, datetime) or timezone.is_naive(value):
            raise ValidationError("Must be a date and time with a time zone offset, e.g. 2026-12-01T09:00:00Z.")
        return value
    if name == "recurrence" and value is not None:
        try:
            return normalize_rule(value) if isinstance(value, str) else normalize_rule("")
        except RecurrenceError as exc:
            raise ValidationError(str(exc)) from None
    if name in ("list_id", "parent_id"):  # whose list or task it is, list_for_task and subtasks.placed decide
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            raise ValidationError("Must be an id, or null.")
        return value
    if isinstance(value, str):
        value = value.strip()
    field = cast(Field, Task._meta.get_field(name))  # an EDITABLE_FIELDS name: a model field, no reverse relation
    return field.clean(value, None)


NO_SUCH_LIST = "No such list."


def list_for_task(*, user_id: str, list_id: int | None) -> int | None:
    """The list a task of this user may be written to, as stored: None for the Inbox (by its id too).
    Someone else's list, or one in the trash, is no such list (nothing told about it); the row stays
    locked until the transaction ends, so it cannot go to the trash under the task being written."""
    if list_id is None:
        return None
    found = lists_for_tasks(user_id=user_id, list_ids=[list_id])
    if list_id not in found:
        raise ValidationError({"list_id": [NO_SUCH_LIST]})
    return found[list_id]


def lists_for_tasks(*, user_id: str, list_ids: list[int]) -> dict[int, int | None]:
    """list_for_task for several ids in one query: each live list of this user found, as stored."""
    rows = (
        TaskList.objects.select_for_update()
        .filter(pk__in=list_ids, user_id=user_id, deleted_at=None)
        .values_list("id", "inbox")
        .order_by("id")
    )
    return {list_id: None if inbox else list_id for list_id, inbox in rows}


def clean_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """Validate values with the model's own field rules; raise ValidationError per field."""
    unknown = set(values) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"Not editable task fields: {', '.join(sorted(unknown))}")
    cleaned, errors = {}, {}
    for name, value in values.items():
        try:
            cleaned[name] = _clean_value(name, value)
        except ValidationError as exc:
            errors[name] = exc.messages
    if errors:
        raise ValidationError(errors)
    return cleaned


def series_values(
    values: Mapping[str, Any], *, zone: ZoneInfo, current: Task | None = None, undated_start: datetime | None = None
) -> dict[str, Any]:
    """Cleaned values, checked and completed for what a repeating task needs, given the task as it is.

    A repeating task needs a due date (`undated_start` stands in where a new rule finds none), and a
    series starts on one of its rule's days: a write that sets a rule moves the due date to the rule's
    first day from it on, at the same wall time in `zone` ("every Monday" set on a Tuesday: next Monday)."""
    written = dict(values)
    due = written.get("due_at", current.due_at if current else None)
    if written.get("recurrence"):
        start = due or undated_start
        if start is None:
            raise ValidationError({"recurrence": [NEEDS_DUE]})
        written["due_at"] = first_occurrence(written["recurrence"], start=start, tz=zone)
    elif due is None and written.get("recurrence", current.recurrence if current else None):
        raise ValidationError({"recurrence": [NEEDS_DUE]})
    return written
