"""Writes of one task: create, update (completion included), toggle or set completion, delete, restore, and the
purge of the trash.

Every change of a task goes through `task_write`, one UPDATE scoped by the owner, and its event
(tasks.events) with it, in one transaction."""

import uuid
from collections.abc import Collection, Mapping, Sequence
from contextlib import nullcontext
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Case, F, OuterRef, Q, Subquery, Value, When
from django.utils import timezone

from tasks import speedups
from tasks.events import tasks_changed, written_kind
from tasks.exceptions import TaskChanged, TaskNotFound
from tasks.models import Task, TaskList
from tasks.recurrence import next_occurrence
from tasks.selectors import task_exists, task_get
from tasks.services.quotas import task_room
from tasks.services.subtasks import HAS_SUBTASKS, placed, restored_under_parent, subtree_follows, subtree_restore
from tasks.services.tags import task_tags_add, task_tags_set
from tasks.services.validation import clean_values, list_for_task, series_values

if TYPE_CHECKING:
    from tasks.selectors import TaggedTask

UTC = ZoneInfo("UTC")
# A pending repeating task completes by moving on, and a task with subtasks takes them along; any
# other task can flip in one statement.
FLIPS_IN_PLACE = Q(Q(recurrence=None) | Q(completed=True) | Q(due_at=None), ~HAS_SUBTASKS)


def task_create(
    *,
    user_id: str,
    title: str,
    description: str | None = None,
    completed: bool = False,
    priority: str = "none",
    tags: Sequence[str] = (),
    due_at: datetime | None = None,
    recurrence: str | None = None,
    position: int = 0,
    list_id: int | None = None,
    parent_id: int | None = None,
    zone: ZoneInfo = UTC,
) -> Task:
    """Create a task: a COUNT for the quota, one INSERT and its event (plus the tag links when it has tags,
    and checks of its list and parent)."""
    values = clean_values(
        {"title": title, "description": description, "completed": completed, "priority": priority,
         "tags": list(tags), "due_at": due_at, "recurrence": recurrence, "position": position, "list_id": list_id,
         "parent_id": parent_id}
    )  # fmt: skip
    values = series_values(values, zone=zone)
    names = values.pop("tags")
    now = timezone.now()
    task_room(user_id=user_id, adding=1)
    # In the Inbox, top-level, untagged (the common create): the row and its event in one statement, which
    # needs no transaction (nothing below queries without a list or a parent).
    in_statement = not names and list_id is None and parent_id is None and speedups.records_in_statement()
    with nullcontext() if in_statement else transaction.atomic():
        values["list_id"] = list_for_task(user_id=user_id, list_id=values["list_id"])
        if values["list_id"] is None and parent_id is not None:
            del values["list_id"]  # no list given: the parent's
        values = placed(user_id=user_id, task_id=None, values=values)
        task = Task(
            user_id=user_id, created_at=now, updated_at=now, completed_at=now if values["completed"] else None, **values
        )
        if in_statement:
            task = speedups.insert_recording(task, event_id=uuid.uuid4())
        else:
            task.save(force_insert=True)
            if names:
                task_tags_add(user_id=user_id, task_ids=[task.id], names=names)
        cast("TaggedTask", task).tag_names = names
        if not in_statement:
            tasks_changed("created", [task])
    return task


def task_update(
    *,
    user_id: str,
    task_id: int,
    if_match: Collection[datetime] | None = None,
    zone: ZoneInfo = UTC,
    undated_start: datetime | None = None,
    **changes: Any,
) -> Task:
    """Change any subset of the editable fields; a missing field stays as it is.

    `if_match`: the versions (updated_at) the caller knows; another current version is TaskChanged.
    Completing a repeating task moves it to its next occurrence (see `completion`); a new rule and the
    due date follow `series_values` (`undated_start`: where a new rule finds no due date)."""
    values = clean_values(changes)
    names = values.pop("tags", None)
    needs_current = _depends_on_current(values)
    now = timezone.now()
    moves = "list_id" in values or "parent_id" in values
    with transaction.atomic() if needs_current or names is not None or moves else nullcontext():
        if "list_id" in values:
            values["list_id"] = list_for_task(user_id=user_id, list_id=values["list_id"])
        if moves:
            values = placed(user_id=user_id, task_id=task_id, values=values)
        if needs_current:
            current = _locked(user_id=user_id, task_id=task_id, if_match=if_match)
            values, if_match = _resolved(current, values, now=now, zone=zone, undated_start=undated_start), None
        else:
            values = series_values(values, zone=zone)  # nothing of the current task needed
            if values.get("completed") is False:
                values["completed_at"] = None
        if not values and names is None:
            task = task_get(user_id=user_id, task_id=task_id)
            if if_match is not None and task.updated_at not in if_match:
                raise TaskChanged(task_id)
            return task
        if names is not None:  # first, so that the row written (and its event) has them
            task_tags_set(user_id=user_id, task_id=task_id, names=names)
        written = task_write(user_id=user_id, task_id=task_id, now=now, if_match=if_match, values=values)
        if written is None:  # nothing of it stays: the transaction ends with this exception
            raise task_missing(user_id=user_id, task_id=task_id, if_match=if_match)
    return written


def _depends_on_current(values: Mapping[str, Any]) -> bool:
    """Whether the write depends on the task as it is: completing it (it may repeat), a rule without a
    due date (the rule needs one), or clearing the due date alone (unless the task repeats)."""
    return (
        values.get("completed") is True
        or (bool(values.get("recurrence")) and "due_at" not in values)
        or ("due_at" in values and values["due_at"] is None and "recurrence" not in values)
    )


def _resolved(
    current: Task, values: dict[str, Any], *, now: datetime, zone: ZoneInfo, undated_start: datetime | None
) -> dict[str, Any]:
    values = series_values(values, zone=zone, current=current, undated_start=undated_start)
    if values.get("completed") is True and not current.completed:
        merged = {"due_at": current.due_at, "recurrence": current.recurrence, **values}
        return {**values, **completion(merged, now=now, zone=zone)}
    if values.get("completed") is False:
        return {**values, "completed_at": None}
    return values


def task_toggle(
    *, user_id: str, task_id: int, if_match: Collection[datetime] | None = None, zone: ZoneInfo = UTC
) -> Task:
    """Flip `completed` in one UPDATE, so concurrent toggles never lose one another. A pending repeating
    task, or one with subtasks, flips as task_update completes or reopens it (under a lock: it moves to
    its next occurrence, its subtasks follow)."""
    now = timezone.now()
    flip = {"completed": ~F("completed"), "completed_at": _completed_at_if_flipped(now)}
    task = task_write(
        user_id=user_id, task_id=task_id, now=now, if_match=if_match, condition=FLIPS_IN_PLACE, values=flip,
        subtree=False,  # FLIPS_IN_PLACE: it has none
    )  # fmt: skip
    if task is not None:
        return task
    with transaction.atomic():
        current = _locked(user_id=user_id, task_id=task_id, if_match=if_match)
        return task_update(user_id=user_id, task_id=task_id, zone=zone, completed=not current.completed)


def task_set_completed(
    *,
    user_id: str,
    task_id: int,
    completed: bool | None,
    if_match: Collection[datetime] | None = None,
    zone: ZoneInfo = UTC,
) -> Task:
    """Complete (True) or reopen (False) the task, idempotently, as an update of `completed` does;
    None flips it (`task_toggle`). Completing a pending repeating task moves it to its next occurrence."""
    if completed is None:
        return task_toggle(user_id=user_id, task_id=task_id, if_match=if_match, zone=zone)
    return task_update(user_id=user_id, task_id=task_id, if_match=if_match, zone=zone, completed=completed)


def task_delete(*, user_id: str, task_id: int, if_match: Collection[datetime] | None = None) -> Task:
    """Move the task (and its subtasks) to the trash and return it as it was; it stays restorable for
    TASK_TRASH_DAYS."""
    now = timezone.now()
    values = {"deleted_at": now}
    # One statement for a task without subtasks; with them, they go to the trash with it, atomically.
    task = task_write(
        user_id=user_id, task_id=task_id, now=now, if_match=if_match, values=values, condition=Q(~HAS_SUBTASKS),
        subtree=False,
    )  # fmt: skip
    if task is None:
        with transaction.atomic():
            task = task_write(user_id=user_id, task_id=task_id, now=now, if_match=if_match, values=values)
            if task is None:
                raise task_missing(user_id=user_id, task_id=task_id, if_match=if_match)
    return task


def task_restore(*, user_id: str, task_id: int) -> Task:
    """Take a task out of the trash (within TASK_TRASH_DAYS of its deletion), with the subtasks that went
    with it. Out of a list or from under a task that is still in the trash, it comes back to the Inbox,
    top-level; under a live parent, into the parent's list (it may have moved meanwhile), unless its subtree
    no longer fits below the parent (MAX_DEPTH): then top-level."""
    now = timezone.now()
    with transaction.atomic():
        trashed = Task.objects.filter(pk=task_id, user_id=user_id, deleted_at__gte=trash_cutoff(now))
        trashed_at = trashed.values_list("deleted_at", flat=True).first()
        if trashed_at is None:
            raise TaskNotFound(task_id)
        task = task_write(user_id=user_id, task_id=task_id, now=now, live=False, values=RESTORED)
        if task is None:
            raise TaskNotFound(task_id)
        subtree_restore(task=task, trashed_at=trashed_at, now=now)
        for name, value in restored_under_parent(user_id=user_id, task_ids=[task.id], now=now).get(task.id, {}).items():
            setattr(task, name, value)
    return task


# What a restored task becomes: live, in its list and under its parent while they are live, else not
# (then subtasks.restored_under_parent settles a parent that moved meanwhile).
RESTORED = {
    "deleted_at": None,
    "list_id": Subquery(TaskList.objects.filter(pk=OuterRef("list_id"), deleted_at=None).values("pk")[:1]),
    "parent_id": Subquery(Task.objects.filter(pk=OuterRef("parent_id"), deleted_at=None).values("pk")[:1]),
}


def trash_cutoff(now: datetime | None = None) -> datetime:
    return (now or timezone.now()) - timedelta(days=settings.TASK_TRASH_DAYS)


def task_purge(*, before: datetime) -> int:
    """Delete for good the tasks trashed before `before`, a thousand at a time, each batch with its
    events (the task as it was); return how many."""
    deleted, trashed = 0, Task.objects.filter(deleted_at__lt=before)
    while True:
        with transaction.atomic():
            batch = list(trashed.select_for_update().annotate(tag_names=speedups.tag_names()).order_by("id")[:1000])
            if not batch:
                return deleted
            deleted += trashed.filter(pk__in=[task.id for task in batch]).delete()[1].get(Task._meta.label, 0)
            tasks_changed("purged", batch, at=timezone.now())


def completion(task: Mapping[str, Any], *, now: datetime, zone: ZoneInfo) -> dict[str, Any]:
    """The values that complete a pending task. A repeating one records the completion in
    `completed_at` and moves its due date to the next occurrence; after the last it completes."""
    done = {"completed": True, "completed_at": now}
    if not task.get("recurrence") or task.get("due_at") is None:
        return done
    following = next_occurrence(task["recurrence"], due_at=task["due_at"], tz=zone)
    if following is None:
        return done
    due_at, rule = following
    return {"completed": False, "completed_at": now, "due_at": due_at, "recurrence": rule}


def _completed_at_if_flipped(now: datetime) -> Case:
    return Case(When(completed=False, then=Value(now)), default=None, output_field=Task._meta.get_field("completed_at"))


def _locked(*, user_id: str, task_id: int, if_match: Collection[datetime] | None) -> Task:
    """The live task, locked until the transaction ends; checks the caller's version."""
    task = Task.objects.select_for_update().filter(pk=task_id, user_id=user_id, deleted_at=None).order_by().first()
    if task is None:
        raise TaskNotFound(task_id)
    if if_match is not None and task.updated_at not in if_match:
        raise TaskChanged(task_id)
    return task


def task_missing(*, user_id: str, task_id: int, if_match: Collection[datetime] | None) -> Exception:
    """Why a write matched nothing: another version (412) or no such task (404)."""
    if if_match is not None and task_exists(user_id=user_id, task_id=task_id):
        return TaskChanged(task_id)
    return TaskNotFound(task_id)


def task_write(
    *, user_id: str, task_id: int, now: datetime, values: Mapping[str, Any],
    if_match: Collection[datetime] | None = None, live: bool = True, condition: Q | None = None,
    subtree: bool = True, event: bool = True,
) -> Task | None:  # fmt: skip
    """The one UPDATE of a task (live, or in the trash), bumping updated_at, and its event: the task as
    written, or None when no row of this user matched (the id, `condition` or `if_match`). Its subtree
    follows a move, a deletion or a completion (`subtree`: unless the caller knows it has none). `event`:
    unless the caller records the task's event itself (a bulk write, all its events in one statement)."""
    tasks = Task.objects.filter(condition or Q(), pk=task_id, user_id=user_id, deleted_at__isnull=live)
    if if_match is not None:
        tasks = tasks.filter(updated_at__in=list(if_match))
    follows = subtree and bool(FOLLOWED.intersection(values))
    if event and not follows and speedups.records_in_statement(tasks.db):
        # The UPDATE and its event in one statement: atomic by itself, no transaction to hold the row's lock.
        return speedups.update_recording(tasks, {"updated_at": now, **values}, event_id=uuid.uuid4())
    with transaction.atomic(savepoint=False):  # the caller's, where it has one: a failure here ends it
        task = speedups.update_returning(tasks, {"updated_at": now, **values})
        if task is None:
            return None
        if event:
            tasks_changed(written_kind(values, task), [task])
        if follows:
            subtree_follows(task, dict(values), now=now)
    return task


FOLLOWED = {"list_id", "deleted_at", "completed"}  # what a task's subtree follows it in
