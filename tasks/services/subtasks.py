"""Subtasks: where a task may go (its parent and list), and what its subtree does with it.

A subtask has the same user and list as its parent, and tasks nest at most MAX_DEPTH levels (a task,
its subtasks, and theirs): deep enough for the steps of a step, and a bound that keeps a subtree one
query of fixed depth (no recursive SQL), a cycle check a walk of at most three rows, and every move,
completion and deletion of a subtree one statement."""

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef

from tasks import speedups
from tasks.events import tasks_changed
from tasks.exceptions import TaskNotFound
from tasks.models import MAX_DEPTH, Task
from tasks.selectors import descendants, storable_id

MAX_SUBTASKS = 100  # direct subtasks of one task
NO_SUCH_TASK = "No such task."
A_CYCLE = "A task cannot be a subtask of itself or of its own subtasks."
TOO_DEEP = f"Subtasks nest at most {MAX_DEPTH} levels deep."
IN_PARENTS_LIST = "A subtask is in its parent's list."
# For a condition on tasks: the task has subtasks that are not in the trash.
HAS_SUBTASKS = Exists(Task.objects.filter(parent_id=OuterRef("pk"), deleted_at=None))


def placed(*, user_id: str, task_id: int | None, values: dict[str, Any]) -> dict[str, Any]:
    """The write's values with its parent checked and its list settled: a subtask goes to its parent's
    list (given another, a 400); a task moved to another list alone leaves its parent. The parent's row
    stays locked until the transaction ends. `list_id` in `values` is already as stored."""
    if task_id is not None and not storable_id(task_id):
        raise TaskNotFound(task_id)  # before any query: SQLite overflows on an id beyond the column
    if values.get("parent_id") is not None:
        return _under_parent(user_id=user_id, task_id=task_id, values=values)
    if "list_id" in values and "parent_id" not in values and task_id is not None:
        parent_list = Task.objects.filter(pk=task_id, user_id=user_id).values_list("parent__list_id", "parent_id")
        row = parent_list.first()
        if row is not None and row[1] is not None and row[0] != values["list_id"]:
            values = {**values, "parent_id": None}
    return values


def _under_parent(*, user_id: str, task_id: int | None, values: dict[str, Any]) -> dict[str, Any]:
    parent_id = values["parent_id"]
    parent = (
        Task.objects.select_for_update(of=("self",))  # the parent's row, not its parent's (an outer join)
        .filter(pk=parent_id, user_id=user_id, deleted_at=None)
        .values("list_id", "parent_id", "parent__parent_id")
        .first()
    )
    if parent is None:
        raise ValidationError({"parent_id": [NO_SUCH_TASK]})
    if task_id is not None and (
        parent_id == task_id or Task.objects.filter(descendants([task_id]), pk=parent_id).exists()
    ):
        raise ValidationError({"parent_id": [A_CYCLE]})
    depth = 1 + (parent["parent_id"] is not None) + (parent["parent__parent_id"] is not None)
    if depth + 1 + (_height(user_id=user_id, task_id=task_id) if task_id is not None else 0) > MAX_DEPTH:
        raise ValidationError({"parent_id": [TOO_DEEP]})
    siblings = Task.objects.filter(parent_id=parent_id, deleted_at=None).exclude(pk=task_id or 0)
    if siblings.count() >= MAX_SUBTASKS:
        raise ValidationError({"parent_id": [too_many()]})
    if "list_id" in values and values["list_id"] != parent["list_id"]:
        raise ValidationError({"list_id": [IN_PARENTS_LIST]})
    return {**values, "list_id": parent["list_id"]}


def too_many() -> str:
    """The refusal of a subtask beyond MAX_SUBTASKS (read when refused, so that tests may lower it)."""
    return f"At most {MAX_SUBTASKS} subtasks per task."


def _height(*, user_id: str, task_id: int) -> int:
    """How many levels of live subtasks the user's task has below it (0: none, and for another user's task,
    which is not found after this check: its subtree must not change the answer)."""
    below = Task.objects.filter(user_id=user_id, deleted_at=None)
    height, level = 0, below.filter(parent_id=task_id).values("id")
    while height < MAX_DEPTH and level.exists():
        height, level = height + 1, below.filter(parent_id__in=level).values("id")
    return height


def subtree_follows(task: Task, values: dict[str, Any], *, now: datetime) -> None:
    """After a write of `task`: its subtree follows it to its list, to the trash (one deleted_at for
    all, so they come back together), and into completion, each subtask with its event. A repeating task
    that moved on to its next occurrence reopens its subtasks, for the next round."""
    below = Task.objects.filter(descendants([task.id]), user_id=task.user_id, deleted_at=None)
    if "list_id" in values:
        tasks_changed("updated", speedups.updated(below, {"list_id": task.list_id, "updated_at": now}))
    if values.get("deleted_at") is not None:
        tasks_changed("deleted", speedups.updated(below, {"deleted_at": values["deleted_at"], "updated_at": now}))
    if "completed" in values:
        if task.completed:
            done = {"completed": True, "completed_at": now, "updated_at": now}
            tasks_changed("completed", speedups.updated(below.filter(completed=False), done))
        elif task.completed_at is not None:  # moved on to its next occurrence
            reopened = {"completed": False, "completed_at": None, "updated_at": now}
            tasks_changed("updated", speedups.updated(below.filter(completed=True), reopened))


def subtree_restore(*, task: Task, trashed_at: datetime, now: datetime) -> None:
    """Bring back the subtasks that went to the trash with their (restored) task, the same deleted_at,
    into its list."""
    trashed = Task.objects.filter(descendants([task.id]), user_id=task.user_id, deleted_at=trashed_at)
    tasks_changed(
        "restored", speedups.updated(trashed, {"deleted_at": None, "list_id": task.list_id, "updated_at": now})
    )


def restored_under_parent(*, user_id: str, task_ids: list[int], now: datetime) -> dict[int, dict[str, Any]]:
    """After a restore (its subtree back with it): a restored task under a live parent that moved while it
    was in the trash follows the parent into its list, if there is room below the parent for its subtree;
    without room it stays top-level (in the list the restore gave it). The changed values per task id."""
    changed: dict[int, dict[str, Any]] = {}
    rows = Task.objects.filter(pk__in=task_ids, user_id=user_id, deleted_at=None, parent__isnull=False).values(
        "id", "list_id", "parent__list_id", "parent__parent_id", "parent__parent__parent_id"
    )
    for row in rows:
        depth = 1 + (row["parent__parent_id"] is not None) + (row["parent__parent__parent_id"] is not None)
        if depth + 1 + _height(user_id=user_id, task_id=row["id"]) > MAX_DEPTH:
            changed[row["id"]] = {"parent_id": None}
        elif row["parent__list_id"] != row["list_id"]:
            changed[row["id"]] = {"list_id": row["parent__list_id"]}
        else:
            continue
        # Its own row first, then its subtree's, each with its event: the one of the restore said where it was.
        tasks_changed(
            "updated", speedups.updated(Task.objects.filter(pk=row["id"]), {"updated_at": now, **changed[row["id"]]})
        )
        if "list_id" in changed[row["id"]]:
            below = Task.objects.filter(descendants([row["id"]]), user_id=user_id, deleted_at=None)
            tasks_changed("updated", speedups.updated(below, {"list_id": row["parent__list_id"], "updated_at": now}))
    return changed
