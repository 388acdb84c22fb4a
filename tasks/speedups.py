"""The speed layer: where the plain ORM path of a hot read or write measured too slow, the SQL it runs
instead, visible here. Each has a test that it answers exactly what the plain ORM path answers
(tests/tasks/test_speedups.py), and bench/RESULTS.md says what it buys.

Compiled SQL is cached per database alias: two aliases may be two servers of different versions."""

import json
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any, cast

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import JSONField, QuerySet, signals
from django.db.models.base import ModelState
from django.db.models.expressions import RawSQL
from django.db.models.query import RawQuerySet
from django.db.models.sql.query import RawQuery
from django.db.models.sql.subqueries import InsertQuery, UpdateQuery

from events.models import Event
from tasks.models import Tag, Task

# The provisional type of an event that update_recording inserts (tasks.events.finish_written makes it proper).
WRITTEN = "todo.task.written"


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

    def __call__(self, *, alias: str = "default", **values: object) -> Iterator[Task]:
        return tasks_of(Task.objects.using(alias).raw(*self.bound(alias=alias, **values)))


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
    return (cast(Task, _tag_names_decoded(task)) for task in tasks_of(tasks))


def tasks_of(tasks: "RawQuerySet[Task]") -> Iterator[Task]:
    """The tasks that iterating `tasks` yields (Django's RawModelIterable), each made as Model.from_db makes it
    but with its columns put in its __dict__ in one update rather than one setattr per field in Model.__init__:
    list_id and parent_id are foreign keys, whose attributes are data descriptors (a Python call each, per
    task). Model.__init__ also sends pre_init and post_init; if anything listens to them for Task, the plain
    from_db runs instead. Which column is which field is worked out once per SQL text (the speed layer runs
    the same few statements over and over), not once per query."""
    db, query = tasks.db, tasks.query
    connection = connections[db]
    compiler = connection.ops.compiler("SQLCompiler")(cast(Any, query), connection, db)  # as RawModelIterable does
    rows = iter(query)
    try:
        names, positions, annotations, columns = _layout(tasks)
        converters = compiler.get_converters(columns)
        if converters:
            rows = compiler.apply_converters(rows, converters)
        plain = signals.pre_init.has_listeners(Task) or signals.post_init.has_listeners(Task)
        for values in rows:
            if plain:
                task = Task.from_db(db, names, [values[pos] for pos in positions])
            else:
                task = Task.__new__(Task)
                state = ModelState()
                state.adding, state.db = False, db
                task.__dict__.update(zip(names, [values[pos] for pos in positions], strict=True), _state=state)
            for column, pos in annotations:
                task.__dict__[column] = values[pos]
            yield task
    finally:
        cursor = getattr(query, "cursor", None)
        if cursor:
            cursor.close()


_Layout = tuple[list[str], list[int], list[tuple[str, int]], list[Any]]
_LAYOUTS: dict[tuple[str, str], _Layout] = {}
_LAYOUTS_KEPT = 256


def _layout(tasks: "RawQuerySet[Task]") -> _Layout:
    """RawModelIterable's reading of a statement's columns: the model's attribute names and their positions, the
    annotations', and each column's expression (for its converters); the query must select every field."""
    key = (tasks.db, str(tasks.raw_query))
    if key not in _LAYOUTS:
        names, positions, annotations = tasks.resolve_model_init_order()
        if len(names) != len(Task._meta.concrete_fields):
            raise ValueError("a task query of the speed layer selects every column of the model")
        model_fields = cast(dict[str, Any], tasks.model_fields)  # column name -> field (the stubs say str)
        fields = [model_fields.get(column) for column in tasks.columns]
        columns = [field.get_col(field.model._meta.db_table) if field else None for field in fields]
        if len(_LAYOUTS) >= _LAYOUTS_KEPT:  # update_returning's statements differ by the columns they set
            return names, positions, annotations, columns
        _LAYOUTS[key] = names, positions, annotations, columns
    return _LAYOUTS[key]


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
    return _tag_names_decoded(next(_TASK_GET(task_id=task_id, user_id=user_id), None))


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
    return next(_updated(tasks, values), None)


def records_in_statement(alias: str = "default") -> bool:
    """Whether update_recording runs here: PostgreSQL's data-modifying WITH (SQLite has none)."""
    return connections[alias].vendor == "postgresql"


def update_recording(tasks: QuerySet[Task], values: Mapping[str, Any], *, event_id: uuid.UUID) -> Task | None:
    """update_returning, with the task's event inserted by the same statement: a WITH over the UPDATE's
    RETURNING row inserts it as a provisional event (type WRITTEN, data: the row and the names of the
    values written), which the worker's sequencer renders with the same code as every other event
    (tasks.events.finish_written) before it numbers it. One statement in autocommit, so the row's lock
    lasts that statement, not a transaction around two (bench/RESULTS.md). PostgreSQL only
    (records_in_statement); tests/tasks/test_speedups.py holds its events equal to the plain path's."""
    update = _update_sql(tasks, values)
    if update is None:
        return None
    return _recording(tasks.db, *update, event_id=event_id, written={"written": sorted(values)})


def insert_recording(task: Task, *, event_id: uuid.UUID) -> Task:
    """`task.save()` of a new task without tags, with its `created` event inserted by the same statement,
    as update_recording does for an update. PostgreSQL only (records_in_statement)."""
    alias = "default"
    fields = [field for field in Task._meta.concrete_fields if not field.primary_key]
    query = InsertQuery(Task)
    query.insert_values(fields, [task])
    [(sql, params)] = query.get_compiler(using=alias).as_sql()
    made = _recording(alias, sql, params, event_id=event_id, written={"kind": "created"}, tags=False)
    return cast(Task, made)  # an INSERT writes its row


def _recording(alias: str, sql: str, params: Any, *, event_id: uuid.UUID, written: dict[str, Any],
               tags: bool = True) -> Task | None:  # fmt: skip
    """The write `sql` RETURNING its row, and its provisional event inserted from that row."""
    quote = connections[alias].ops.quote_name
    columns = _task_columns(alias)
    names = tag_names_sql(alias) if tags else "NULL::jsonb"
    event = quote(Event._meta.db_table)
    event_columns = ", ".join(quote(name) for name in ("uuid", "user_id", "type", "subject", "time", "data"))
    statement = (
        f"WITH written AS ({sql} RETURNING {columns}, {names} AS tag_names), "  # noqa: S608 - model names
        f"recorded AS (INSERT INTO {event} ({event_columns}) "
        f"SELECT %s, w.user_id, %s, 'tasks/' || w.id, w.updated_at, "
        f"%s::jsonb || jsonb_build_object('row', to_jsonb(w)) FROM written w) "
        f"SELECT * FROM written"
    )
    raw = Task.objects.using(alias).raw(statement, (*params, event_id, WRITTEN, json.dumps(written)))
    return next((cast(Task, _tag_names_decoded(task)) for task in tasks_of(raw)), None)


def updated(tasks: QuerySet[Task], values: Mapping[str, Any]) -> list[Task]:
    """`tasks.update(**values)`, answering the rows it wrote, as update_returning does (for their events)."""
    return list(_updated(tasks, values))


def _task_columns(alias: str) -> str:
    """Every column of a task, quoted, for a RETURNING (a concrete field is one with a column, Django's
    definition, so field.column is never None)."""
    quote = connections[alias].ops.quote_name
    return ", ".join(quote(cast(str, field.column)) for field in Task._meta.concrete_fields)


def _update_sql(tasks: QuerySet[Task], values: Mapping[str, Any]) -> tuple[str, Any] | None:
    """`tasks.update(**values)` as SQL and its parameters; None when it can match no row."""
    query = cast(UpdateQuery, tasks.query.chain(UpdateQuery))  # chain(klass) returns a klass; the stubs say Query
    query.add_update_values(dict(values))
    try:
        return query.get_compiler(using=tasks.db).as_sql()
    except EmptyResultSet:  # e.g. an id beyond the integer range: no such task
        return None


def _updated(tasks: QuerySet[Task], values: Mapping[str, Any]) -> Iterator[Task]:
    alias = tasks.db
    update = _update_sql(tasks, values)
    if update is None:
        return
    sql, params = update
    returning = f"{sql} RETURNING {_task_columns(alias)}, {tag_names_sql(alias)} AS tag_names"
    for task in tasks_of(Task.objects.using(alias).raw(returning, params)):
        yield cast(Task, _tag_names_decoded(task))
