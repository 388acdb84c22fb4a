"""The query language of the task list, as a django-filter FilterSet: the REST list and the chat
assistant's list_tasks both run it, so a filter means the same everywhere.

Every value is validated: an unknown priority, a malformed date or an unknown ordering is a 400
with a message, never silently ignored."""

from datetime import datetime
from typing import Any, Literal

import django_filters
from django import forms
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from tasks import selectors
from tasks.models import PRIORITIES, Task
from tasks.selectors import ORDERING_FIELDS, STATUS_COMPLETED, OrderKey

# The original design's spellings.
SORT_ALIASES = {"created": "-created_at", "title": "title", "due_date": "due_at"}


class StrictBooleanField(forms.Field):
    """true/false (or 1/0); anything else is an error, not "no filter" as Django's NullBooleanField has it."""

    def to_python(self, value: Any) -> bool | None:
        if value in (None, ""):
            return None
        text = str(value).strip().lower()
        if text in {"true", "1"}:
            return True
        if text in {"false", "0"}:
            return False
        raise forms.ValidationError("Must be true or false.")


class ListValueField(forms.Field):
    """Repeated parameters and comma-separated values alike: ?tag=a&tag=b or ?tag=a,b."""

    widget = forms.SelectMultiple

    def __init__(self, *args: Any, choices: list[tuple[str, str]] | None = None, **kwargs: Any) -> None:
        self.allowed = None if choices is None else [value for value, _ in choices]
        super().__init__(*args, **kwargs)

    def to_python(self, value: Any) -> list[str]:
        values = [value] if isinstance(value, str) else value or []
        items = [part.strip() for raw in values for part in str(raw).split(",") if part.strip()]
        if any("\x00" in item for item in items):
            raise forms.ValidationError("Null characters are not allowed.")
        if self.allowed is not None:
            unknown = [item for item in items if item not in self.allowed]
            if unknown:
                raise forms.ValidationError(f"Unknown value(s) {', '.join(unknown)}; use {', '.join(self.allowed)}.")
        return items


class OrderingField(forms.CharField):
    """`ordering=-due_at,title`: fields from ORDERING_FIELDS, '-' for descending."""

    # A form field cleans to whatever it parses; CharField's stub return type (str | None) is only its own.
    def to_python(self, value: Any) -> list[OrderKey]:  # type: ignore[override]
        try:
            return selectors.order_keys(super().to_python(value) or "")
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None


@extend_schema_field(OpenApiTypes.BOOL)
class StrictBooleanFilter(django_filters.Filter):
    field_class = StrictBooleanField


@extend_schema_field({"type": "array", "items": {"type": "string", "pattern": "^[^\\u0000]*$"}})
class ListFilter(django_filters.Filter):
    field_class = ListValueField


_ORDER_KEY = f"-?(?:{'|'.join(ORDERING_FIELDS)})"


@extend_schema_field({"type": "string", "pattern": f"^(?:{_ORDER_KEY}(?:,{_ORDER_KEY})*)?$"})
class OrderingFilter(django_filters.Filter):
    field_class = OrderingField


# A form's CharField refuses NUL characters (ProhibitNullCharactersValidator): the schema says so.
@extend_schema_field({"type": "string", "maxLength": 200, "pattern": "^[^\\u0000]*$"})
class SearchFilter(django_filters.CharFilter):
    pass


class IdOrWordField(forms.Field):
    """An id, or one word (`inbox` for ?list=, `none` for ?parent=)."""

    def __init__(self, *args: Any, word: str, **kwargs: Any) -> None:
        self.word = word
        super().__init__(*args, **kwargs)

    def to_python(self, value: Any) -> int | str | None:
        text = str(value or "").strip().lower()
        if not text:
            return None
        if text == self.word:
            return text
        if not text.isascii() or not text.isdigit() or not 0 < int(text) < 2**63:
            raise forms.ValidationError(f"Must be an id or {self.word}.")
        return int(text)


@extend_schema_field(
    {"oneOf": [{"type": "integer", "minimum": 1, "maximum": 2**63 - 1}, {"type": "string", "enum": ["inbox"]}]}
)
class ListIdFilter(django_filters.Filter):
    field_class = IdOrWordField


@extend_schema_field(
    {"oneOf": [{"type": "integer", "minimum": 1, "maximum": 2**63 - 1}, {"type": "string", "enum": ["none"]}]}
)
class ParentFilter(django_filters.Filter):
    field_class = IdOrWordField


@extend_schema_field({"type": "array", "items": {"type": "string", "enum": list(PRIORITIES)}})
class PriorityFilter(ListFilter):
    pass


class TaskFilter(django_filters.FilterSet):
    completed = StrictBooleanFilter(help_text="Only completed (true) or pending (false) tasks.")
    status = django_filters.ChoiceFilter(
        choices=[(name, name) for name in STATUS_COMPLETED], method="filter_status",
        help_text="The original design's spelling of `completed`: all, pending or completed.",
    )  # fmt: skip
    priority = PriorityFilter(
        choices=[(name, name) for name in PRIORITIES], method="filter_priority",
        help_text="One or several of none, low, medium, high (repeat the parameter or separate with commas).",
    )  # fmt: skip
    tag = ListFilter(
        method="filter_tag", help_text="Tasks carrying any of these tags (repeat or separate with commas)."
    )
    # field_name: the schema's type comes from the model field.
    due_before = django_filters.IsoDateTimeFilter(
        field_name="due_at", method="filter_due_before", help_text="Due before."
    )
    due_after = django_filters.IsoDateTimeFilter(
        field_name="due_at", method="filter_due_after", help_text="Due at or after."
    )
    overdue = StrictBooleanFilter(method="filter_overdue", help_text="Pending and past due (true), or not (false).")
    search = SearchFilter(
        method="filter_search", max_length=200,
        help_text="Words in the title or description. PostgreSQL: full-text, ranked (best first unless "
        '`ordering` is given); "quoted phrases", -excluded and or. SQLite: every word as a substring.',
    )  # fmt: skip
    ordering = OrderingFilter(
        method="filter_nothing",
        help_text=f"Comma-separated fields, '-' for descending: {', '.join(ORDERING_FIELDS)}. "
        "Default -created_at. Tasks without a due date come last.",
    )  # fmt: skip
    sort = django_filters.ChoiceFilter(
        choices=[(name, name) for name in SORT_ALIASES], method="filter_nothing",
        help_text="The original design's spelling of `ordering`: created (newest first), title or due_date.",
    )  # fmt: skip

    class Meta:
        model = Task
        fields: list[str] = []

    def filter_status(self, tasks: QuerySet[Task], name: str, value: str) -> QuerySet[Task]:
        return selectors.task_filter(tasks, completed=STATUS_COMPLETED[value])

    def filter_priority(self, tasks: QuerySet[Task], name: str, value: list[str]) -> QuerySet[Task]:
        return selectors.task_filter(tasks, priorities=value)

    def filter_tag(self, tasks: QuerySet[Task], name: str, value: list[str]) -> QuerySet[Task]:
        return selectors.task_filter(tasks, tags=value)

    def filter_due_before(self, tasks: QuerySet[Task], name: str, value: datetime) -> QuerySet[Task]:
        return selectors.task_filter(tasks, due_before=value)

    def filter_due_after(self, tasks: QuerySet[Task], name: str, value: datetime) -> QuerySet[Task]:
        return selectors.task_filter(tasks, due_after=value)

    def filter_overdue(self, tasks: QuerySet[Task], name: str, value: bool | None) -> QuerySet[Task]:
        return selectors.task_filter(tasks, overdue=value)

    def filter_search(self, tasks: QuerySet[Task], name: str, value: str) -> QuerySet[Task]:
        return selectors.task_filter(tasks, search=value)

    owner: str

    def filter_list(self, tasks: QuerySet[Task], name: str, value: int | Literal["inbox"]) -> QuerySet[Task]:
        return selectors.task_filter(tasks, in_list=value, owner=self.owner)

    def filter_parent(self, tasks: QuerySet[Task], name: str, value: int | Literal["none"]) -> QuerySet[Task]:
        return selectors.task_filter(tasks, parent=value)

    def filter_nothing(self, tasks: QuerySet[Task], name: str, value: Any) -> QuerySet[Task]:
        return tasks  # applied by ordering_keys()

    def ordering_keys(self) -> tuple[OrderKey, ...]:
        """The order of the answer: `ordering`, else `sort`, else the selectors' default (rank, newest)."""
        data = self.form.cleaned_data
        keys = list(data.get("ordering") or [])
        if not keys and data.get("sort"):
            keys = selectors.order_keys(SORT_ALIASES[data["sort"]])
        return selectors.task_ordering(self.qs, keys)

    def ordered(self) -> QuerySet[Task]:
        return selectors.task_ordered(self.qs, self.ordering_keys())

    # Last: from here on, `list` in this class body is the filter, not the built-in.
    list = ListIdFilter(
        method="filter_list", word="inbox",
        help_text="Only the tasks of this list: its id, or `inbox` (the tasks without a list).",
    )  # fmt: skip
    parent = ParentFilter(
        method="filter_parent", word="none",
        help_text="Only the subtasks of this task (one level), or `none`: only top-level tasks.",
    )  # fmt: skip


def task_query(*, user_id: str, params: Any) -> TaskFilter:
    """The user's live tasks filtered by `params` (a QueryDict or a dict); check `.is_valid()`."""
    filters = TaskFilter(params, queryset=selectors.task_list(user_id=user_id))
    filters.owner = user_id  # whose lists ?list= names
    return filters
