"""What one user may keep: the quotas every creating write checks first (a QuotaExceeded, 409, writes nothing).

Each check is one indexed COUNT before the write; two writes racing at the edge may both pass it, which
bounds a user as closely as a quota needs without a lock per user."""

from collections.abc import Sequence

from django.conf import settings

from tasks.exceptions import QuotaExceeded
from tasks.models import Tag, Task


def task_room(*, user_id: str, adding: int) -> None:
    """Refuse `adding` new tasks beyond MAX_TASKS_PER_USER (live ones and those in the trash until purged)."""
    limit = settings.MAX_TASKS_PER_USER
    if Task.objects.filter(user_id=user_id).count() + adding > limit:
        raise QuotaExceeded("MAX_TASKS_PER_USER", limit, "tasks per user, the trash included")


def tag_room(*, user_id: str, names: Sequence[str]) -> None:
    """Refuse the tags among `names` that the user does not have yet beyond MAX_TAGS_PER_USER."""
    limit = settings.MAX_TAGS_PER_USER
    tags = Tag.objects.filter(user_id=user_id)
    held = tags.count()
    if held + len(names) > limit and held + len(names) - tags.filter(name__in=names).count() > limit:
        raise QuotaExceeded("MAX_TAGS_PER_USER", limit, "tags per user")
