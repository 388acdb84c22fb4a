"""The speed layer: where the plain ORM path of a hot read or write measured too slow, the SQL it runs
instead, visible here. Each has a test that it answers exactly what the plain ORM path answers
(tests/tasks/test_speedups.py), and bench/RESULTS.md says what it buys.

Compiled SQL is cached per database alias: two aliases may be two servers of different versions."""

import json
from collections.abc import Callable, Mapping
from typing import Any, cast

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import JSONField, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.query import RawQuerySet
from django.db.models.sql.subqueries import UpdateQuery

from tasks.models import Tag, Task


def tag_names_sql(alias: str = "default") -> str:
    """A task's tag names as one correlated subquery: a JSON array, NULL without tags."""
    through, tag, task = Task.tags.through._meta.db_table, Tag._meta.db_table, Task._meta.db_table
    agg = "JSONB_AGG" if connections[alias].vendor == "postgresql" else "JSON_GROUP_ARRAY"
    join = f'"{through}" l INNER JOIN "{tag}" t ON t."id" = l."tag_id"'
    return f'(SELECT {agg}(t."name") FROM {join} WHERE l."task_id" = "{task}"."id")'  # noqa: S608 - model names


def tag_names(alias: str = "default") -> RawSQL:
    """tag_names_sql as an annotation, for top-level task querysets (it names the tasks table, not an alias).

    The RETURNING of update_returning needs this SQL anyway; the reads use the same one rather than a
    second definition as an ORM aggregate (which tests/tasks/test_speedups.py holds it equal to)."""
    return RawSQL(tag_names_sql(alias), (), output_field=JSONField())  # noqa: S611 - no input in it: model names


class CompiledQuery:
    """A queryset compiled to SQL once per database alias, then run with new values through `raw()`,
    which makes the same model instances (annotations as attributes) without building, resolving and
    compiling the query again.

    `build(**sentinels)` must return the queryset; each sentinel is a value that appears exactly once
    among the compiled query's parameters, which is how the values given later find their places."""

    def __init__(self, build: Callable[..., QuerySet[Task]], **sentinels: object) -> None:
        self._build, self._sentinels = build, sentinels
        self._compiled: dict[str, tuple[str, list[object], dict[int, str]]] = {}

    def sql(self, alias: str = "default") -> tuple[str, list[object], dict[int, str]]:
        """The SQL, its parameters as compiled, and which of them are the sentinels' places."""
        if alias not in self._compiled:
            query = self._build(**self._sentinels).query
            sql, params = query.get_compiler(using=alias).as_sql()
            places = {i: name for i, value in enumerate(params) for name, s in self._sentinels.items() if value == s}
            if sorted(places.values()) != sorted(self._sentinels):
                raise ValueError(f"each sentinel must appear once among the parameters {params!r}")
            self._compiled[alias] = sql, list(params), places
        return self._compiled[alias]

    def __call__(self, *, alias: str = "default", **values: object) -> "RawQuerySet[Task]":
        sql, params, places = self.sql(alias)
        bound = [values[places[i]] if i in places else param for i, param in enumerate(params)]
        return Task.objects.using(alias).raw(sql, bound)


_TASK_GET = CompiledQuery(
    lambda task_id, user_id: (
        Task.objects.filter(pk=task_id, user_id=user_id, deleted_at=None).annotate(tag_names=tag_names()).order_by()
    ),
    task_id=-7_000_000_001,
    user_id="\x00user-id-sentinel",
)


_TASK_LIST = CompiledQuery(
    lambda user_id: Task.objects.filter(user_id=user_id, deleted_at=None).annotate(tag_names=tag_names()),
    user_id="\x00user-id-sentinel",
)


def task_list_all(*, user_id: str) -> list[Task]:
    """A user's live tasks in the model's order (newest first), with their tag names, from their compiled
    query (selectors.task_list_all: the contract's plain list, the hottest read of all)."""
    return [cast(Task, _tag_names_decoded(task)) for task in _TASK_LIST(user_id=user_id)]


def task_get(*, user_id: str, task_id: int) -> Task | None:
    """A user's live task by id, with its tag names, from its compiled query (selectors.task_get)."""
    return _tag_names_decoded(next(iter(_TASK_GET(task_id=task_id, user_id=user_id)), None))


def _tag_names_decoded(task: Task | None) -> Task | None:
    """raw() leaves the tag names as JSON text (Django decodes JSON itself, on every backend): decode them."""
    names = getattr(task, "tag_names", None)
    if isinstance(names, str):
        setattr(task, "tag_names", json.loads(names))  # noqa: B010 - an annotation, unknown to the model's type
    return task


def update_returning(tasks: QuerySet[Task], values: Mapping[str, Any]) -> Task | None:
    """`tasks.update(**values)` with RETURNING: one statement, one round trip, atomic by itself, and the
    row it answers (with its tag names) is the one this statement wrote (PostgreSQL and SQLite >= 3.35).
    The first row written, or None when none matched."""
    alias = tasks.db
    query = cast(UpdateQuery, tasks.query.chain(UpdateQuery))  # chain(klass) returns a klass; the stubs say Query
    query.add_update_values(dict(values))
    connection = connections[alias]
    try:
        sql, params = query.get_compiler(using=alias).as_sql()
    except EmptyResultSet:  # e.g. an id beyond the integer range: no such task
        return None
    # A concrete field is one with a column (Django's definition), so field.column is never None here.
    columns = ", ".join(connection.ops.quote_name(cast(str, field.column)) for field in Task._meta.concrete_fields)
    returning = f"{sql} RETURNING {columns}, {tag_names_sql(alias)} AS tag_names"
    return _tag_names_decoded(next(iter(Task.objects.using(alias).raw(returning, params)), None))
