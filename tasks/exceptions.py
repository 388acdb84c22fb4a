from collections.abc import Mapping

from django.core.exceptions import ObjectDoesNotExist


class TaskNotFound(ObjectDoesNotExist):
    """No task with this id belongs to this user (whether it exists for someone else or not)."""

    def __init__(self, task_id: object) -> None:
        super().__init__(f"Task {task_id} not found.")
        self.task_id = task_id


class TagNotFound(ObjectDoesNotExist):
    def __init__(self, name: str) -> None:
        super().__init__(f"Tag {name!r} not found.")
        self.name = name


class TaskChanged(Exception):
    """If-Match named a version of the task that is no longer the current one (HTTP 412)."""

    def __init__(self, task_id: int) -> None:
        super().__init__(f"Task {task_id} has changed since that version; fetch it again.")
        self.task_id = task_id


class BulkInvalid(Exception):
    """Some items of a bulk request are invalid; nothing was written. `errors` maps item index to messages."""

    def __init__(self, field: str, errors: Mapping[int, list[str] | dict[str, list[str]]]) -> None:
        super().__init__(f"{len(errors)} invalid item(s)")
        self.field = field
        self.errors = dict(errors)


class TasksLocked(Exception):
    """Another request holds some of these tasks' rows longer than BULK_LOCK_TIMEOUT_MS; nothing was written (409)."""

    def __init__(self) -> None:
        super().__init__("Another request is changing some of these tasks. Send this one again in a few seconds.")


class IdempotencyKeyReused(Exception):
    """The Idempotency-Key was already used for a different request (HTTP 422)."""


class ListNotFound(ObjectDoesNotExist):
    """No list with this id belongs to this user (whether it exists for someone else or not)."""

    def __init__(self, list_id: object) -> None:
        super().__init__(f"List {list_id} not found.")
        self.list_id = list_id


class QuotaExceeded(Exception):
    """A write would take the user past one of their quotas (MAX_TASKS_PER_USER, ...); nothing was written (409)."""

    def __init__(self, setting: str, limit: int, what: str) -> None:
        super().__init__(f"At most {limit} {what} ({setting}).")
        self.setting = setting
        self.limit = limit
