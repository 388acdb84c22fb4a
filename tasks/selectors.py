"""Reads of tasks, always scoped by the owner's user id."""

from collections.abc import Iterable

from django.db.models import Count, QuerySet

from tasks.exceptions import TaskNotFound
from tasks.models import Task


def task_list(*, user_id: str, completed: bool | None = None) -> QuerySet[Task]:
    tasks = Task.objects.filter(user_id=user_id)
    if completed is not None:
        tasks = tasks.filter(completed=completed)
    return tasks


def task_get(*, user_id: str, task_id: int) -> Task:
    try:
        return Task.objects.order_by().get(pk=task_id, user_id=user_id)
    except Task.DoesNotExist:
        raise TaskNotFound(task_id) from None


def task_counts_by_user(*, user_ids: Iterable[str]) -> dict[str, int]:
    rows = Task.objects.filter(user_id__in=list(user_ids)).values("user_id").annotate(n=Count("id"))
    return {row["user_id"]: row["n"] for row in rows.order_by()}
