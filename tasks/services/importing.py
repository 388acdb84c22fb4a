"""The import of a file of tasks (an export, or rows written by hand), all or nothing, in one transaction.

Ids of lists and tasks mean nothing in another account, so a file speaks its own terms: a row's `list` is a
list's name (found case-insensitively, or made), and its `parent_id` is the `id` of another row of the same
file. The file's tree is checked before anything is written (a parent in the file, no cycle, MAX_DEPTH,
MAX_SUBTASKS), so the rows go in by level, parents before children, in batches of IMPORT_BATCH: one INSERT
per batch, as a flat file goes in, and never a query per row."""

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction

from tasks.exceptions import BulkInvalid
from tasks.fields import LIST_COLUMN
from tasks.models import MAX_DEPTH
from tasks.services import subtasks
from tasks.services.bulk import cleaned_items, inserted
from tasks.services.lists import lists_by_name
from tasks.services.quotas import task_room
from tasks.services.subtasks import A_CYCLE, IN_PARENTS_LIST, TOO_DEEP

UTC = ZoneInfo("UTC")
IMPORT_BATCH = 500
FILE_TERMS = ("id", "parent_id", LIST_COLUMN)  # what a row says in the file's own terms
Errors = dict[int, dict[str, list[str]]]


def task_import(*, user_id: str, items: Sequence[Mapping[str, Any]], zone: ZoneInfo = UTC) -> list[int]:
    """Create the file's tasks, all or nothing; the new tasks' ids, in the items' order.

    An item has a task's editable values (but `list_id`), `created_at` and `completed_at` (kept), and may
    have `id` (the file's own, for other items), `parent_id` (the `id` of another item: its subtasks are in
    its list, as with task_create, and one with no list follows it) and `list` (a name; None, "" or the
    Inbox's name: the Inbox). BulkInvalid names every refused item by its index in the file."""
    if any("list_id" in item for item in items):
        raise TypeError("An import names its lists (`list`), it does not take list ids.")
    parents, levels = file_tree(items)
    ids: list[int] = [0] * len(items)
    with transaction.atomic():
        task_room(user_id=user_id, adding=len(items))  # the whole file's count at once, before any batch
        lists = _lists(user_id=user_id, items=items, parents=parents, levels=levels)
        for level in levels:
            for start in range(0, len(level), IMPORT_BATCH):
                batch = level[start : start + IMPORT_BATCH]
                rows = [{k: v for k, v in items[i].items() if k not in FILE_TERMS} for i in batch]
                try:
                    cleaned = cleaned_items(rows, zone=zone)
                except BulkInvalid as exc:  # numbered by the whole file, not by the batch
                    raise BulkInvalid(exc.field, {batch[i]: errors for i, errors in exc.errors.items()}) from None
                for index, (values, _) in zip(batch, cleaned, strict=True):
                    values["list_id"] = lists[index]
                    values["parent_id"] = ids[parents[index]] if index in parents else None
                tasks = inserted(user_id=user_id, rows=cleaned)
                for index, task in zip(batch, tasks, strict=True):
                    ids[index] = task.id
    return ids


def file_tree(items: Sequence[Mapping[str, Any]]) -> tuple[dict[int, int], list[list[int]]]:
    """The file's subtasks: each subtask's parent (item index to item index), and the items by level (the
    top-level ones first), each level in the file's order. BulkInvalid names the items whose parent_id is
    no row's `id` (or several rows'), that are in a cycle, too deep, or one subtask too many."""
    rows_of: dict[int, list[int]] = {}
    for index, item in enumerate(items):
        if isinstance(item.get("id"), int):
            rows_of.setdefault(item["id"], []).append(index)
    parents: dict[int, int] = {}
    errors: Errors = {}
    for index, item in enumerate(items):
        parent_id = item.get("parent_id")
        if parent_id is None:
            continue
        found = rows_of.get(parent_id, [])
        if len(found) != 1:
            where = "No row" if not found else "Several rows"
            errors[index] = {"parent_id": [f"{where} of the file {'has' if not found else 'have'} id {parent_id}."]}
        elif found[0] == index:
            errors[index] = {"parent_id": [A_CYCLE]}
        else:
            parents[index] = found[0]
    depth = _depths(len(items), parents, errors)
    for index, level in depth.items():
        if level > MAX_DEPTH:
            errors[index] = {"parent_id": [TOO_DEEP]}
    siblings: Counter[int] = Counter()
    for index, parent in parents.items():  # in the file's order
        siblings[parent] += 1
        if siblings[parent] > subtasks.MAX_SUBTASKS and index not in errors:
            errors[index] = {"parent_id": [subtasks.too_many()]}
    if errors:
        raise BulkInvalid("tasks", dict(sorted(errors.items())))
    levels: list[list[int]] = [[] for _ in range(MAX_DEPTH)]
    for index in range(len(items)):
        levels[depth[index] - 1].append(index)
    return parents, [level for level in levels if level]


def _depths(count: int, parents: Mapping[int, int], errors: Errors) -> dict[int, int]:
    """Each item's level (1: top-level) where its ancestors lead to a top-level item; the items of a cycle
    go into `errors`. Each item is walked once (a long chain of rows costs its length, not its square)."""
    depth: dict[int, int] = {}
    broken: set[int] = set(errors)  # no level: a parent that is no row, a cycle, or below one of those
    for start in range(count):
        path: list[int] = []
        on_path: dict[int, int] = {}
        node: int | None = start
        while node is not None and node not in depth and node not in broken and node not in on_path:
            on_path[node] = len(path)
            path.append(node)
            node = parents.get(node)
        if node is not None and node in on_path:  # a cycle: the path from that node on
            for member in path[on_path[node] :]:
                errors[member] = {"parent_id": [A_CYCLE]}
        if node is not None and node not in depth:
            broken.update(path)
            continue
        level = 0 if node is None else depth[node]
        for member in reversed(path):
            level += 1
            depth[member] = level
    return depth


def _lists(
    *, user_id: str, items: Sequence[Mapping[str, Any]], parents: Mapping[int, int], levels: list[list[int]]
) -> list[int | None]:
    """Each item's list as stored (None: the Inbox): its own by name, found or made; a subtask's is its
    parent's, and naming another is refused, as task_create refuses it."""
    names = list(dict.fromkeys(item[LIST_COLUMN] for item in items if item.get(LIST_COLUMN)))
    stored, refused = lists_by_name(user_id=user_id, names=names) if names else ({}, {})
    lists: list[int | None] = [None] * len(items)
    errors: Errors = {}
    for level in levels:
        for index in level:
            name = items[index].get(LIST_COLUMN)
            if name in refused:
                errors[index] = {LIST_COLUMN: refused[name]}
                continue
            own = stored[name] if name else None
            if index in parents and parents[index] not in errors:
                parent_list = lists[parents[index]]
                if own is not None and own != parent_list:
                    errors[index] = {LIST_COLUMN: [IN_PARENTS_LIST]}
                own = parent_list
            lists[index] = own
    if errors:
        raise BulkInvalid("tasks", dict(sorted(errors.items())))
    return lists
