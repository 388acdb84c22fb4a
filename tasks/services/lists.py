"""Writes of lists: create (one, or those an import names), change, delete (its tasks to the trash with it, or
moved first), restore, purge, and the Inbox, made on first need. Which list a task may go to is decided here too."""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from tasks import speedups
from tasks.events import lists_changed, tasks_changed
from tasks.exceptions import ListNotFound
from tasks.models import Task, TaskList
from tasks.services.tasks import trash_cutoff
from tasks.services.validation import NO_SUCH_LIST, list_for_task

INBOX_NAME = "Inbox"
MAX_LISTS_PER_USER = 200
LIST_FIELDS = ("name", "color", "position", "archived")
INBOX_FIXED = ("name", "archived")  # the Inbox keeps its name and cannot be archived (or deleted)


def inbox(*, user_id: str) -> TaskList:
    """The user's Inbox, made on first need (two requests at once make one: the unique constraint decides)."""
    found = TaskList.objects.filter(user_id=user_id, inbox=True).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            made = TaskList.objects.create(user_id=user_id, name=INBOX_NAME, inbox=True, position=-1)
            lists_changed("created", [made])
            return made
    except IntegrityError:
        return TaskList.objects.get(user_id=user_id, inbox=True)


def list_create(
    *, user_id: str, name: str, color: str | None = None, position: int = 0, archived: bool = False
) -> TaskList:
    values = _clean({"name": name, "color": color, "position": position, "archived": archived})
    inbox(user_id=user_id)  # the Inbox comes first: the name "Inbox" is taken from the start
    with transaction.atomic():
        if TaskList.objects.filter(user_id=user_id, deleted_at=None).count() >= MAX_LISTS_PER_USER:
            raise ValidationError({"name": [f"At most {MAX_LISTS_PER_USER} lists per user."]})
        now = timezone.now()
        made = _saved(TaskList(user_id=user_id, created_at=now, updated_at=now, **values))
        lists_changed("created", [made])
        return made


def lists_by_name(*, user_id: str, names: Iterable[str]) -> tuple[dict[str, int | None], dict[str, list[str]]]:
    """The user's live list of each name, as a task stores it (None: the Inbox, by its name too, and for a
    blank name), matched case-insensitively (an archived list too) and made where missing, by list_create
    (its name rules and MAX_LISTS_PER_USER); and, for each name that could not be made, why not."""
    live: dict[str, int | None] = {INBOX_NAME.lower(): None}  # the Inbox's name, made yet or not
    for list_id, name, is_inbox in TaskList.objects.filter(user_id=user_id, deleted_at=None).values_list(
        "id", "name", "inbox"
    ):
        live[name.strip().lower()] = None if is_inbox else list_id
    found: dict[str, int | None] = {}
    refused: dict[str, list[str]] = {}
    failed: dict[str, list[str]] = {}
    for name in names:
        key = name.strip().lower()
        if key in failed:
            refused[name] = failed[key]
        elif key == "" or key in live:
            found[name] = live.get(key)
        else:
            try:
                found[name] = live[key] = list_create(user_id=user_id, name=name).id
            except ValidationError as exc:
                refused[name] = failed[key] = exc.messages
    return found, refused


def list_update(*, user_id: str, list_id: int, **changes: Any) -> TaskList:
    """Change any of name, color, position, archived; a missing field stays as it is."""
    values = _clean(changes)
    with transaction.atomic():
        task_list = _live(user_id=user_id, list_id=list_id, lock=True)
        fixed = [name for name in INBOX_FIXED if name in values and values[name] != getattr(task_list, name)]
        if task_list.inbox and fixed:
            raise ValidationError({name: ["The Inbox keeps its name and cannot be archived."] for name in fixed})
        for name, value in values.items():
            setattr(task_list, name, value)
        task_list.updated_at = timezone.now()
        lists_changed("updated", [_saved(task_list)])
        return task_list


def list_delete(*, user_id: str, list_id: int, move_tasks_to: int | None = None) -> None:
    """Move the list to the trash with its live tasks (restored together), or move them to another
    list first (`move_tasks_to`, the Inbox's id included). The Inbox cannot be deleted."""
    now = timezone.now()
    with transaction.atomic():
        task_list = _live(user_id=user_id, list_id=list_id, lock=True)
        if task_list.inbox:
            raise ValidationError({"detail": ["The Inbox cannot be deleted."]})
        tasks = Task.objects.filter(user_id=user_id, list_id=list_id, deleted_at=None)
        if move_tasks_to is not None:
            if move_tasks_to == list_id:
                raise ValidationError({"move_tasks_to": ["Cannot move the tasks to the list being deleted."]})
            try:
                target = list_for_task(user_id=user_id, list_id=move_tasks_to)
            except ValidationError:
                raise ValidationError({"move_tasks_to": [NO_SUCH_LIST]}) from None
            tasks_changed("updated", speedups.updated(tasks, {"list_id": target, "updated_at": now}))
        else:
            tasks_changed("deleted", speedups.updated(tasks, {"deleted_at": now, "updated_at": now}))
        TaskList.objects.filter(pk=list_id).update(deleted_at=now, updated_at=now)
        task_list.deleted_at = task_list.updated_at = now
        lists_changed("deleted", [task_list])


def list_restore(*, user_id: str, list_id: int) -> TaskList:
    """Take a list out of the trash (within TASK_TRASH_DAYS), with the tasks that went with it."""
    now = timezone.now()
    with transaction.atomic():
        task_list = (
            TaskList.objects.select_for_update()
            .filter(pk=list_id, user_id=user_id, deleted_at__gte=trash_cutoff(now))
            .first()
        )
        if task_list is None:
            raise ListNotFound(list_id)
        trashed_at, task_list.deleted_at, task_list.updated_at = task_list.deleted_at, None, now
        _saved(task_list)  # a live list of the same name now refuses it
        lists_changed("restored", [task_list])
        trashed = Task.objects.filter(user_id=user_id, list_id=list_id, deleted_at=trashed_at)
        tasks_changed("restored", speedups.updated(trashed, {"deleted_at": None, "updated_at": now}))
    return task_list


def list_purge(*, before: datetime) -> int:
    """Delete for good the lists trashed before `before`, with their events (their tasks went to the
    trash with them: task_purge first)."""
    with transaction.atomic():
        trashed = list(TaskList.objects.select_for_update().filter(deleted_at__lt=before))
        TaskList.objects.filter(pk__in=[task_list.id for task_list in trashed]).delete()
        lists_changed("purged", trashed, at=timezone.now())
    return len(trashed)


def _live(*, user_id: str, list_id: int, lock: bool = False) -> TaskList:
    lists = TaskList.objects.select_for_update() if lock else TaskList.objects
    task_list = lists.filter(Q(pk=list_id, user_id=user_id, deleted_at=None)).first()
    if task_list is None:
        raise ListNotFound(list_id)
    return task_list


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    unknown = set(values) - set(LIST_FIELDS)
    if unknown:
        raise TypeError(f"Not editable list fields: {', '.join(sorted(unknown))}")
    cleaned, errors = {}, {}
    for name, value in values.items():
        field = TaskList._meta.get_field(name)
        try:
            cleaned[name] = field.clean(value.strip() if isinstance(value, str) else value, None)  # type: ignore[union-attr]
        except ValidationError as exc:
            errors[name] = exc.messages
    if cleaned.get("color"):
        cleaned["color"] = cleaned["color"].lower()
    if errors:
        raise ValidationError(errors)
    return cleaned


def _saved(task_list: TaskList) -> TaskList:
    """Save, answering a taken name (case-insensitively, among live lists) as a validation error."""
    taken = TaskList.objects.filter(user_id=task_list.user_id, deleted_at=None, name__iexact=task_list.name)
    if taken.exclude(pk=task_list.pk).exists():
        raise ValidationError({"name": ["A list with this name exists."]})
    try:
        with transaction.atomic():
            task_list.save()
    except IntegrityError:  # made at the same moment by another request
        raise ValidationError({"name": ["A list with this name exists."]}) from None
    return task_list
