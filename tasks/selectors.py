"""Reads of tasks, always scoped by the owner's user id. Deleted tasks (tombstones) only show in
task_changes, the incremental sync."""

import json
import re
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, TypedDict

from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector
from django.db import connection
from django.db.models import Count, JSONField, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.query import RawQuerySet

from tasks.exceptions import TagNotFound, TaskNotFound
from tasks.models import Tag, Task

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations


class TagNames(TypedDict):
    """What tag_names() annotates (a JSON array; None for no tags on PostgreSQL), or the services' UPDATE
    RETURNs (JSON text) or set (a list). Read it with tag_list_of."""

    tag_names: list[str] | str | None


class TagCount(TypedDict):
    """What tag_list annotates."""

    task_count: int


if TYPE_CHECKING:
    TaggedTask = WithAnnotations[Task, TagNames]

# Must stay identical to the index in migration 0004 (the planner matches expressions).
SEARCH_VECTOR = SearchVector("title", "description", config="english")


def tag_names() -> RawSQL:
    """The task's tag names as one correlated subquery (a JSON array, NULL without tags).

    Written as SQL rather than as a Subquery of the through model: the ORM resolves, relabels and
    compiles a nested query on every call, which cost more than the rest of a task's read (see
    bench/RESULTS.md). For top-level task querysets only: it names the tasks table, not an alias."""
    return RawSQL(tag_names_sql(), (), output_field=JSONField())  # noqa: S611 - no input in it: model table names


def tag_names_sql() -> str:
    """The same subquery as raw SQL, for the RETURNING clause of the services' UPDATEs."""
    through, tag = Task.tags.through._meta.db_table, Tag._meta.db_table
    agg = "JSONB_AGG" if connection.vendor == "postgresql" else "JSON_GROUP_ARRAY"
    task = Task._meta.db_table
    join = f'"{through}" l INNER JOIN "{tag}" t ON t."id" = l."tag_id"'
    return f'(SELECT {agg}(t."name") FROM {join} WHERE l."task_id" = "{task}"."id")'  # noqa: S608 - model names


def tag_list_of(task: Task) -> list[str]:
    """The task's tag names, sorted, from whichever query loaded it (annotation or RETURNING)."""
    names = getattr(task, "tag_names", None)
    if isinstance(names, str):
        names = json.loads(names)
    return sorted(names) if names else []


def task_list(*, user_id: str, completed: bool | None = None) -> QuerySet[Task]:
    """The user's live tasks, newest first, each with its tag names: one query."""
    tasks = Task.objects.filter(user_id=user_id, deleted_at=None).annotate(tag_names=tag_names())
    if completed is not None:
        tasks = tasks.filter(completed=completed)
    return tasks


def task_search(tasks: QuerySet[Task], text: str) -> QuerySet[Task]:
    """Tasks whose title or description match: ranked full-text search on PostgreSQL (English
    stemming, web-search syntax: "quoted phrases", -excluded, or); elsewhere every word or "phrase" as a
    substring, and no -excluded one."""
    if connection.vendor == "postgresql":
        query = SearchQuery(text, config="english", search_type="websearch")
        return (
            tasks.alias(document=SEARCH_VECTOR).filter(document=query).annotate(rank=SearchRank(SEARCH_VECTOR, query))
        )
    condition = Q()
    for negated, phrase, word in re.findall(r'(-?)(?:"([^"]*)"|(\S+))', text):
        term = phrase or word
        if not term.strip() or (term.lower() == "or" and not negated):
            continue
        found = Q(title__icontains=term) | Q(description__icontains=term)
        condition &= ~found if negated else found
    return tasks.filter(condition)


class CompiledQuery:
    """A queryset compiled to SQL once per database vendor, then run with new values through
    `raw()`, which makes the same model instances (annotations as attributes) without building,
    resolving and compiling the query again: half the cost of the hottest read (bench/RESULTS.md).

    `build(**sentinels)` must return the queryset; each sentinel is a value that appears exactly once
    among the compiled query's parameters, which is how the values given later find their places."""

    def __init__(self, build: Callable[..., QuerySet[Task]], **sentinels: object) -> None:
        self._build, self._sentinels = build, sentinels
        self._compiled: dict[str, tuple[str, list[object], dict[int, str]]] = {}

    def _compile(self) -> tuple[str, list[object], dict[int, str]]:
        sql, params = self._build(**self._sentinels).query.sql_with_params()
        places = {i: name for i, value in enumerate(params) for name, s in self._sentinels.items() if value == s}
        if sorted(places.values()) != sorted(self._sentinels):
            raise ValueError(f"each sentinel must appear once among the parameters {params!r}")
        return sql, list(params), places

    def __call__(self, **values: object) -> "RawQuerySet[Task]":
        compiled = self._compiled.get(connection.vendor)
        if compiled is None:
            compiled = self._compiled[connection.vendor] = self._compile()
        sql, params, places = compiled
        bound = [values[places[i]] if i in places else param for i, param in enumerate(params)]
        return Task.objects.raw(sql, bound)


_TASK_GET = CompiledQuery(
    lambda task_id, user_id: (
        Task.objects.filter(pk=task_id, user_id=user_id, deleted_at=None).annotate(tag_names=tag_names()).order_by()
    ),
    task_id=-7_000_000_001,
    user_id="\x00user-id-sentinel",
)


_TASK_LIST = CompiledQuery(lambda user_id: task_list(user_id=user_id), user_id="\x00user-id-sentinel")


def task_list_all(*, user_id: str) -> "RawQuerySet[Task]":
    """task_list, unfiltered, in the model's order (newest first), from its compiled query: the
    contract's plain list, the hottest read of all."""
    return _TASK_LIST(user_id=user_id)


def task_get(*, user_id: str, task_id: int) -> Task:
    if not -(2**63) <= task_id < 2**63:  # no such id (the ORM's lookups say so too; raw SQL would overflow)
        raise TaskNotFound(task_id)
    for task in _TASK_GET(task_id=task_id, user_id=user_id):
        return task
    raise TaskNotFound(task_id)


def task_exists(*, user_id: str, task_id: int, deleted: bool = False) -> bool:
    return Task.objects.filter(pk=task_id, user_id=user_id, deleted_at__isnull=not deleted).exists()


def task_changes(*, user_id: str, since: datetime) -> QuerySet[Task]:
    """Everything that changed after `since`, deletions included, oldest change first."""
    return (
        Task.objects.filter(user_id=user_id, updated_at__gt=since)
        .annotate(tag_names=tag_names())
        .order_by("updated_at", "id")
    )


def task_counts_by_user(*, user_ids: Iterable[str]) -> dict[str, int]:
    rows = Task.objects.filter(user_id__in=list(user_ids), deleted_at=None).values("user_id").annotate(n=Count("id"))
    return {row["user_id"]: row["n"] for row in rows.order_by()}


def tag_list(*, user_id: str) -> "QuerySet[WithAnnotations[Tag, TagCount]]":
    """The user's tags by name, each with `task_count`, the number of live tasks carrying it."""
    counts = Count("tasks", filter=Q(tasks__deleted_at=None))
    return Tag.objects.filter(user_id=user_id).annotate(task_count=counts).order_by("name")


def tag_get(*, user_id: str, name: str) -> Tag:
    try:
        return Tag.objects.get(user_id=user_id, name=name.strip().lower())
    except Tag.DoesNotExist:
        raise TagNotFound(name) from None


def task_many(*, ids: Iterable[int]) -> QuerySet[Task]:
    """Tasks by id, tombstones included (for callers that already checked ownership)."""
    return Task.objects.filter(pk__in=list(ids)).annotate(tag_names=tag_names()).order_by()
