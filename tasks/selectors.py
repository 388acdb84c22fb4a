"""Reads of tasks, always scoped by the owner's user id. Deleted tasks (tombstones) only show in
task_changes, the incremental sync."""

import re
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, TypedDict

from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import BigIntegerField, Case, Count, F, OrderBy, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone
from typing_extensions import Unpack

from tasks import speedups
from tasks.exceptions import ListNotFound, TagNotFound, TaskNotFound
from tasks.models import MAX_DEPTH, PRIORITIES, Tag, Task, TaskList

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations


class TagNames(TypedDict):
    """The tag names a read or a write annotates (None: no tags). Read it with tag_list_of."""

    tag_names: list[str] | None


class TagCount(TypedDict):
    """What tag_list annotates."""

    task_count: int


if TYPE_CHECKING:
    TaggedTask = WithAnnotations[Task, TagNames]

# Must stay identical to the index in migration 0004 (the planner matches expressions).
SEARCH_VECTOR = SearchVector("title", "description", config="english")
NEGATIONS = re.compile(r"-(?:\s*-)+")


def tag_list_of(task: Task) -> list[str]:
    """The task's tag names, sorted, from whichever query loaded it (annotation or RETURNING)."""
    names = getattr(task, "tag_names", None)
    return sorted(names) if names else []


def task_list(*, user_id: str, completed: bool | None = None) -> QuerySet[Task]:
    """The user's live tasks, newest first, each with its tag names: one query."""
    tasks = Task.objects.filter(user_id=user_id, deleted_at=None).annotate(tag_names=speedups.tag_names())
    if completed is not None:
        tasks = tasks.filter(completed=completed)
    return tasks


def task_list_all(*, user_id: str) -> list[Task] | Iterator[Task]:
    """task_list, unfiltered, in the model's order: the contract's plain list, from the speed layer (a list, or
    an iterator over a server-side cursor when the user has more than speedups.LIST_IN_MEMORY tasks)."""
    return speedups.task_list_all(user_id=user_id)


def task_search(tasks: QuerySet[Task], text: str) -> QuerySet[Task]:
    """Tasks whose title or description match: ranked full-text search on PostgreSQL (English
    stemming, web-search syntax: "quoted phrases", -excluded, or); elsewhere every word or "phrase" as a
    substring, and no -excluded one."""
    if connection.vendor == "postgresql":
        # Each "-" nests a NOT, and some 32 of them overflow PostgreSQL's parser: a run says one NOT, or none.
        text = NEGATIONS.sub(lambda run: "-" if run[0].count("-") % 2 else " ", text)
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


# A task's status, as the original design names it: which tasks a status means (None: all of them).
STATUS_COMPLETED: dict[str, bool | None] = {"all": None, "pending": False, "completed": True}
ORDERING_FIELDS = ("created_at", "updated_at", "due_at", "priority", "title", "position")
NULLABLE = {"due_at"}


@dataclass(frozen=True)
class OrderKey:
    field: str
    descending: bool

    @property
    def nullable(self) -> bool:
        return self.field in NULLABLE

    def expression(self) -> OrderBy:
        # Nulls last in both directions: tasks without a due date come after those with one. (Only
        # where there can be nulls: "DESC NULLS LAST" on another column would not match its index.)
        column, nulls_last = F(self.field), True if self.nullable else None
        return column.desc(nulls_last=nulls_last) if self.descending else column.asc(nulls_last=nulls_last)


DEFAULT_ORDERING = (OrderKey("created_at", descending=True), OrderKey("id", descending=True))


def order_keys(text: str) -> list[OrderKey]:
    """`-due_at,title`: fields from ORDERING_FIELDS, '-' for descending; ValueError names a field that is not."""
    keys: list[OrderKey] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        name = part.removeprefix("-")
        if name not in ORDERING_FIELDS:
            raise ValueError(f"Cannot order by {name!r}; use {', '.join(ORDERING_FIELDS)}.")
        if any(key.field == name for key in keys):
            continue  # the first mention decides
        keys.append(OrderKey(name, descending=part.startswith("-")))
    return keys


class TaskConditions(TypedDict, total=False):
    """What task_filter can ask of a task; a condition left out (or None, or empty) holds for every task."""

    completed: bool | None
    priorities: Collection[str]  # any of these
    tags: Collection[str]  # any of these
    due_before: datetime | None
    due_after: datetime | None
    overdue: bool | None
    search: str | None
    in_list: int | Literal["inbox"] | None  # a list's id (the Inbox's too), or "inbox"
    owner: str  # whose list in_list names (with in_list: the user whose tasks these are)
    parent: int | Literal["none"] | None  # a task's id (its subtasks), or "none" (top-level tasks)


def task_filter(tasks: QuerySet[Task], **conditions: Unpack[TaskConditions]) -> QuerySet[Task]:
    """The tasks that meet every condition given."""
    completed, priorities, tags = conditions.get("completed"), conditions.get("priorities"), conditions.get("tags")
    due_before, due_after = conditions.get("due_before"), conditions.get("due_after")
    overdue, search, in_list = conditions.get("overdue"), conditions.get("search"), conditions.get("in_list")
    parent = conditions.get("parent")
    if completed is not None:
        tasks = tasks.filter(completed=completed)
    if priorities:
        tasks = tasks.filter(priority__in=[PRIORITIES[name] for name in priorities])
    if tags:
        names = [" ".join(name.split()).lower() for name in tags]
        tasks = tasks.filter(pk__in=Task.tags.through.objects.filter(tag__name__in=names).values("task_id"))
    if due_before is not None:
        tasks = tasks.filter(due_at__lt=due_before)
    if due_after is not None:
        tasks = tasks.filter(due_at__gte=due_after)
    if overdue is not None:
        late = Q(completed=False, due_at__lt=timezone.now())
        tasks = tasks.filter(late) if overdue else tasks.exclude(late)
    if search and search.strip():
        tasks = task_search(tasks, search)
    if in_list is not None:
        tasks = tasks.alias(list_key=LIST_KEY).filter(list_key=_list_key(in_list, owner=conditions["owner"]))
    if parent is not None:
        tasks = tasks.filter(parent_id=None if parent == "none" else parent)
    return tasks


# A task's list as the list index (task_user_list_live_idx) has it: its id, 0 for the Inbox (NULL).
LIST_KEY = Coalesce("list", 0, output_field=BigIntegerField())


def _list_key(in_list: int | Literal["inbox"], *, owner: str) -> int | Subquery:
    """The LIST_KEY of a list named by id or "inbox": one uncorrelated subquery (PostgreSQL runs it once,
    then walks the index), 0 for the owner's Inbox, nothing for another user's list."""
    if in_list == "inbox":
        return 0
    key = Case(When(inbox=True, then=Value(0)), default=F("id"), output_field=BigIntegerField())
    return Subquery(TaskList.objects.filter(pk=in_list, user_id=owner).values_list(key)[:1])


def task_ordering(tasks: QuerySet[Task], keys: Sequence[OrderKey] = ()) -> tuple[OrderKey, ...]:
    """The order of an answer, ending with id so that it is total (cursors rely on it): the keys given, else
    the search rank (best first), else the newest first."""
    if not keys and "rank" in tasks.query.annotations:
        keys = [OrderKey("rank", descending=True)]
    if not keys:
        return DEFAULT_ORDERING
    return (*keys, OrderKey("id", descending=keys[-1].descending))


def task_ordered(tasks: QuerySet[Task], keys: Sequence[OrderKey]) -> QuerySet[Task]:
    """The tasks in the total order of `keys` (see task_ordering)."""
    return tasks.order_by(*(key.expression() for key in keys))


def storable_id(task_id: int) -> bool:
    """Whether an id fits the id column: any other is no such task (the ORM's lookups say so too; raw SQL
    and SQLite's `IN` lists would overflow instead)."""
    return -(2**63) <= task_id < 2**63


def task_get(*, user_id: str, task_id: int) -> Task:
    if not storable_id(task_id):
        raise TaskNotFound(task_id)
    task = speedups.task_get(user_id=user_id, task_id=task_id)
    if task is None:
        raise TaskNotFound(task_id)
    return task


def descendants(task_ids: Iterable[int]) -> Q:
    """The subtasks of these tasks, and theirs, at every level below them (the depth is bounded)."""
    return Q(parent_id__in=_levels(task_ids, MAX_DEPTH - 1))


def subtree(task_ids: Iterable[int]) -> Q:
    """These tasks and their descendants."""
    return Q(pk__in=_levels(task_ids, MAX_DEPTH))


def _levels(task_ids: Iterable[int], count: int) -> "QuerySet[Any]":
    """The ids of these tasks and of `count - 1` levels of subtasks below them, as one UNION ALL: each
    level an index lookup, and one `IN` over all of them (an OR of levels would scan the table)."""
    level = Task.objects.filter(pk__in=list(task_ids))
    arms = [level.values("id").order_by()]
    for _ in range(count - 1):
        level = Task.objects.filter(parent_id__in=level.values("id"))
        arms.append(level.values("id").order_by())
    return arms[0].union(*arms[1:], all=True)


def task_subtree(*, user_id: str, task_id: int) -> list[Task]:
    """The live task and its live subtasks at every level, with their tag names, siblings by position:
    one query (the depth is bounded, see services.subtasks). TaskNotFound when the task is not live."""
    if not storable_id(task_id):
        raise TaskNotFound(task_id)
    tasks = (
        Task.objects.filter(subtree([task_id]), user_id=user_id, deleted_at=None)
        .annotate(tag_names=speedups.tag_names())
        .order_by("position", "id")
    )
    found: list[Task] = list(tasks)
    if not any(task.id == task_id for task in found):
        raise TaskNotFound(task_id)
    return found


def task_orphans(tasks: QuerySet[Task]) -> set[int]:
    """The ids of the subtasks among `tasks` whose parent is not among them (a filtered export's): one query."""
    chosen = tasks.order_by()
    orphans = chosen.filter(parent__isnull=False).exclude(parent_id__in=chosen.values("id"))
    return set(orphans.values_list("id", flat=True))


def task_subtree_size(*, user_id: str, task_id: int) -> tuple[int, int]:
    """How many live tasks the task's subtree holds (the task too), and how many of its subtasks are
    open: one query, (0, 0) when the task is not live."""
    if not storable_id(task_id):
        return 0, 0
    counts = Task.objects.filter(subtree([task_id]), user_id=user_id, deleted_at=None).aggregate(
        live=Count("id"), open=Count("id", filter=Q(completed=False) & ~Q(pk=task_id))
    )
    return counts["live"], counts["open"]


def task_exists(*, user_id: str, task_id: int, deleted: bool = False) -> bool:
    return Task.objects.filter(pk=task_id, user_id=user_id, deleted_at__isnull=not deleted).exists()


def task_changes(*, user_id: str, since: datetime) -> QuerySet[Task]:
    """Everything that changed after `since`, deletions included, oldest change first."""
    return (
        Task.objects.filter(user_id=user_id, updated_at__gt=since)
        .annotate(tag_names=speedups.tag_names())
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
    if "\x00" in name:  # no tag has one (clean_tag_name), and PostgreSQL refuses it in a query
        raise ValidationError({"name": ["Null characters are not allowed."]})
    try:
        return Tag.objects.get(user_id=user_id, name=name.strip().lower())
    except Tag.DoesNotExist:
        raise TagNotFound(name) from None


def task_many(*, ids: Iterable[int]) -> QuerySet[Task]:
    """Tasks by id, tombstones included (for callers that already checked ownership)."""
    return Task.objects.filter(pk__in=list(ids)).annotate(tag_names=speedups.tag_names()).order_by()


def list_all(*, user_id: str) -> list[TaskList]:
    """The user's live lists in their order, each with `open_count` and `overdue_count` (its pending
    tasks, and those past due): two queries, the lists and one count of all of them."""
    lists = list(TaskList.objects.filter(user_id=user_id, deleted_at=None))
    return _counted(lists, user_id=user_id, tasks=Q())


def list_names(*, user_id: str) -> dict[int, str | None]:
    """The name of each of the user's lists by id, the Inbox's None (its tasks have no list)."""
    rows = TaskList.objects.filter(user_id=user_id).values_list("id", "name", "inbox").order_by()
    return {list_id: None if inbox else name for list_id, name, inbox in rows}


def list_changes(*, user_id: str, since: datetime) -> list[TaskList]:
    """The lists changed after `since`, deletions included, oldest change first; the live ones counted."""
    lists = list(TaskList.objects.filter(user_id=user_id, updated_at__gt=since).order_by("updated_at", "id"))
    _counted([task_list for task_list in lists if task_list.deleted_at is None], user_id=user_id, tasks=Q())
    return lists


def list_get(*, user_id: str, list_id: int) -> TaskList:
    task_list = TaskList.objects.filter(pk=list_id, user_id=user_id, deleted_at=None).first()
    if task_list is None:
        raise ListNotFound(list_id)
    return _counted([task_list], user_id=user_id, tasks=list_condition(task_list.id, inbox=task_list.inbox))[0]


def list_named(*, user_id: str, name: str) -> TaskList:
    """The user's live list of this name, matched as the services match a taken name (case-insensitively)."""
    found = TaskList.objects.filter(user_id=user_id, deleted_at=None, name__iexact=name.strip())
    task_list = None if "\x00" in name else found.first()  # no name has one, and PostgreSQL refuses it in a query
    if task_list is None:
        raise ListNotFound(name)
    return task_list


def list_condition(list_id: int, *, inbox: bool) -> Q:
    """The tasks of a list: the Inbox's are those without one."""
    return Q(list_id=None) if inbox else Q(list_id=list_id)


def _counted(lists: list[TaskList], *, user_id: str, tasks: Q) -> list[TaskList]:
    pending = Task.objects.filter(tasks, user_id=user_id, deleted_at=None, completed=False)
    rows = (
        pending.values("list_id")
        .annotate(open=Count("id"), overdue=Count("id", filter=Q(due_at__lt=timezone.now())))
        .order_by()
    )
    counts: dict[int | None, tuple[int, int]] = {row["list_id"]: (row["open"], row["overdue"]) for row in rows}
    for task_list in lists:
        key = None if task_list.inbox else task_list.id
        task_list.open_count, task_list.overdue_count = counts.get(key, (0, 0))  # type: ignore[attr-defined]
    return lists
