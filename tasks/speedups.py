"""The speed layer: where the plain ORM path of a hot read or write measured too slow, the SQL it runs
instead, visible here. Each has a test that it answers exactly what the plain ORM path answers
(tests/tasks/test_speedups.py), and bench/RESULTS.md says what it buys.

Compiled SQL is cached per database alias: two aliases may be two servers of different versions."""

import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any, cast

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import JSONField, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.query import RawQuerySet
from django.db.models.sql.query import RawQuery
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

    def bound(self, *, alias: str = "default", **values: object) -> tuple[str, list[object]]:
        """The SQL and its parameters with these values in the sentinels' places."""
        sql, params, places = self.sql(alias)
        return sql, [values[places[i]] if i in places else param for i, param in enumerate(params)]

    def __call__(self, *, alias: str = "default", **values: object) -> "RawQuerySet[Task]":
        return Task.objects.using(alias).raw(*self.bound(alias=alias, **values))


_TASK_GET = CompiledQuery(
    lambda task_id, user_id: (
        Task.objects.filter(pk=task_id, user_id=user_id, deleted_at=None).annotate(tag_names=tag_names()).order_by()
    ),
    task_id=-7_000_000_001,
    user_id="\x00user-id-sentinel",
)


def _task_list(user_id: str) -> QuerySet[Task]:
    return Task.objects.filter(user_id=user_id, deleted_at=None).annotate(tag_names=tag_names())


# A list up to LIST_IN_MEMORY tasks is read whole (one query, the fastest answer); a longer one again, streamed.
LIST_IN_MEMORY = 500
_TASK_LIST = CompiledQuery(_task_list, user_id="\x00user-id-sentinel")
_TASK_LIST_HEAD = CompiledQuery(
    lambda user_id: _task_list(user_id)[: LIST_IN_MEMORY + 1], user_id="\x00user-id-sentinel"
)


def task_list_all(*, user_id: str) -> list[Task] | Iterator[Task]:
    """A user's live tasks in the model's order (newest first), with their tag names, from their compiled
    query (selectors.task_list_all: the contract's plain list, the hottest read of all): a list of at most
    LIST_IN_MEMORY tasks, or for more an iterator that reads them from a server-side cursor as it goes."""
    head = [cast(Task, _tag_names_decoded(task)) for task in _TASK_LIST_HEAD(user_id=user_id)]
    if len(head) <= LIST_IN_MEMORY:
        return head
    del head
    return task_iter_all(user_id=user_id)


def task_iter_all(*, user_id: str, alias: str = "default") -> Iterator[Task]:
    """The same tasks as task_list_all's compiled query, one at a time from a server-side cursor (PostgreSQL's,
    unless DISABLE_SERVER_SIDE_CURSORS: the way QuerySet.iterator reads), so memory does not grow with them."""
    sql, params = _TASK_LIST.bound(alias=alias, user_id=user_id)
    tasks = Task.objects.using(alias).raw(sql, params)
    tasks.query = _ChunkedRawQuery(sql, alias, params=tuple(params))
    return (cast(Task, _tag_names_decoded(task)) for task in tasks.iterator())


class _ChunkedRawQuery(RawQuery):
    """A RawQuery run on a chunked (server-side) cursor, as the ORM's iterator() runs its queries."""

    def _execute_query(self) -> None:
        connection = connections[self.using]
        params = tuple(connection.ops.adapt_unknown_value(value) for value in self.params)
        chunked = not connection.settings_dict.get("DISABLE_SERVER_SIDE_CURSORS")
        self.cursor = connection.chunked_cursor() if chunked else connection.cursor()
        self.cursor.execute(self.sql, params)


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
