"""Moving a task next to another: its siblings' order (`position`) without rewriting every row.

Siblings are the live tasks with the same list and parent, ordered by (position, id). A move puts the
task just before or just after an anchor task, among the anchor's siblings (so into the anchor's list
and under its parent: the subtree follows, and the subtask rules apply as in any PATCH). The task takes
a position halfway between its new neighbours, which writes one row. Only when no integer is left
between them (every task starts at position 0, so the first move in a list finds none) are the
siblings spread out again GAP apart: one pass over that sibling group, its rows written in batches,
each with a new updated_at (and an event) so that a sync sees the new order. The task's own write goes
through task_update, so If-Match, timestamps and the list and parent rules live there once.
"""

from collections.abc import Collection
from datetime import datetime
from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from tasks.events import tasks_changed
from tasks.exceptions import TaskNotFound
from tasks.models import INT32, Task
from tasks.selectors import task_many
from tasks.services.tasks import task_update

GAP = 1024  # between siblings after a spread: room for 10 halvings before the next one
Side = Literal["before", "after"]


def task_move(
    *, user_id: str, task_id: int, side: Side, anchor_id: int, if_match: Collection[datetime] | None = None
) -> Task:
    """Put the task just before or just after the anchor, among the anchor's siblings."""
    if anchor_id == task_id:
        raise ValidationError({side: ["A task cannot be moved next to itself."]})
    with transaction.atomic():
        anchor = (
            Task.objects.select_for_update()  # moves next to one anchor take turns; others may tie (id decides)
            .filter(pk=anchor_id, user_id=user_id, deleted_at=None)
            .values("id", "list_id", "parent_id")
            .first()
        )
        if anchor is None:
            raise ValidationError({side: ["No such task."]})
        task = Task.objects.filter(pk=task_id, user_id=user_id, deleted_at=None).values("list_id", "parent_id").first()
        if task is None:
            raise TaskNotFound(task_id)
        siblings = list(
            Task.objects.filter(user_id=user_id, list_id=anchor["list_id"], parent_id=anchor["parent_id"])
            .filter(deleted_at=None)
            .exclude(pk=task_id)
            .order_by("position", "id")
            .values_list("id", "position")
        )
        index = next(i for i, (sibling, _) in enumerate(siblings) if sibling == anchor_id)
        index += side == "after"  # where the task goes among the others
        position = _between(siblings, index)
        if position is None:
            position = _spread(user_id=user_id, siblings=siblings, index=index)
        place: dict[str, Any] = {name: anchor[name] for name in ("list_id", "parent_id") if anchor[name] != task[name]}
        return task_update(user_id=user_id, task_id=task_id, if_match=if_match, position=position, **place)


def _between(siblings: list[tuple[int, int]], index: int) -> int | None:
    """A position strictly between the siblings at index - 1 and index (at either end, within GAP of the
    end one), or None when no integer is free there. The anchor is among them, so there is one at least."""
    low = siblings[index - 1][1] if index > 0 else siblings[index][1] - GAP
    high = siblings[index][1] if index < len(siblings) else low + GAP
    if high - low < 2 or not -INT32 <= low < high <= INT32:
        return None
    return (low + high) // 2


def _spread(*, user_id: str, siblings: list[tuple[int, int]], index: int) -> int:
    """Number the siblings GAP apart, leaving the place at `index` free; that place's position."""
    now = timezone.now()
    changed = []
    for place, (sibling, position) in enumerate(siblings):
        wanted = (place + (place >= index)) * GAP
        if wanted != position:
            changed.append(Task(pk=sibling, position=wanted, updated_at=now))
    if (len(siblings) + 1) * GAP > INT32:  # unreachable under the default task quota (10,000 x GAP)
        raise ValidationError({"position": ["Too many tasks at this level to order them."]})
    Task.objects.filter(user_id=user_id).bulk_update(changed, ["position", "updated_at"], batch_size=500)
    tasks_changed("updated", task_many(ids=[task.id for task in changed]))
    return index * GAP
