"""Writes of tags: a task's tag links, and renaming or deleting a tag across the user's tasks."""

from collections.abc import Iterable, Sequence
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from tasks import speedups
from tasks.events import tag_changed, tasks_changed
from tasks.models import Tag, Task
from tasks.selectors import tag_get
from tasks.services.quotas import tag_room
from tasks.services.validation import clean_tag_name

TaskTag = Task.tags.through


def task_tags_add(*, user_id: str, task_ids: Iterable[int], names: Sequence[str]) -> None:
    """Attach the named tags (created on first use, within MAX_TAGS_PER_USER) to the tasks."""
    tag_room(user_id=user_id, names=names)
    Tag.objects.bulk_create([Tag(user_id=user_id, name=name) for name in names], ignore_conflicts=True)
    tag_ids = list(Tag.objects.filter(user_id=user_id, name__in=names).values_list("id", flat=True))
    links = [TaskTag(task_id=task_id, tag_id=tag_id) for task_id in task_ids for tag_id in tag_ids]
    TaskTag.objects.bulk_create(links, ignore_conflicts=True)


def task_tags_remove(*, task_ids: Iterable[int], names: Sequence[str]) -> None:
    TaskTag.objects.filter(task_id__in=list(task_ids), tag__name__in=names).delete()


def task_tags_set(*, user_id: str, task_id: int, names: Sequence[str]) -> None:
    """Make `names` the task's whole list of tags."""
    TaskTag.objects.filter(task_id=task_id).exclude(tag__name__in=names).delete()
    if names:
        task_tags_add(user_id=user_id, task_ids=[task_id], names=names)


def _touch(task_ids: list[int], now: datetime) -> None:
    """A tag's tasks change when it is renamed or deleted: bump them so sync clients see it, each with
    its event (after the change, so that their tags are the new ones)."""
    tasks_changed("updated", speedups.updated(Task.objects.filter(pk__in=task_ids), {"updated_at": now}))


def tag_rename(*, user_id: str, name: str, new_name: str) -> Tag:
    """Rename a tag; renaming onto an existing tag merges the two."""
    tag = tag_get(user_id=user_id, name=name)
    try:
        new_name = clean_tag_name(new_name)
    except ValidationError as exc:
        raise ValidationError({"name": exc.messages}) from None
    if new_name == tag.name:
        return tag
    with transaction.atomic():
        old_name, task_ids = tag.name, list(TaskTag.objects.filter(tag=tag).values_list("task_id", flat=True))
        target = Tag.objects.filter(user_id=user_id, name=new_name).first()
        if target is None:
            tag.name = new_name
            tag.save(update_fields=["name"])
            target = tag
        else:
            TaskTag.objects.bulk_create([TaskTag(task_id=i, tag_id=target.id) for i in task_ids], ignore_conflicts=True)
            tag.delete()
        tag_changed("renamed", user_id=user_id, name=old_name, new_name=new_name)
        _touch(task_ids, timezone.now())
        return target


def tag_delete(*, user_id: str, name: str) -> None:
    """Remove a tag from every task of the user and forget it."""
    tag = tag_get(user_id=user_id, name=name)
    with transaction.atomic():
        task_ids = list(TaskTag.objects.filter(tag=tag).values_list("task_id", flat=True))
        tag.delete()
        tag_changed("deleted", user_id=user_id, name=tag.name)
        _touch(task_ids, timezone.now())
