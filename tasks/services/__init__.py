"""Writes of tasks and tags. Every front (the REST views, the operations behind the chat and MCP tools,
the commands) calls these, so ownership, validation and timestamps are decided here once.

By concern: `tasks` (one task), `moving` (its order among its siblings), `bulk` (many at once),
`importing` (a file of them), `tags`, `lists`, `subtasks`, `idempotency`, `seeding`, and the rules they all
check in `validation` and `quotas`."""

from tasks.services.bulk import BulkAction, task_bulk_update, task_create_many
from tasks.services.idempotency import idempotency_purge, idempotent, request_fingerprint
from tasks.services.importing import task_import
from tasks.services.moving import task_move
from tasks.services.seeding import TaskDraft, task_bulk_create, task_delete_all
from tasks.services.tags import tag_delete, tag_rename
from tasks.services.tasks import (
    task_create,
    task_delete,
    task_purge,
    task_restore,
    task_set_completed,
    task_toggle,
    task_update,
    trash_cutoff,
)
from tasks.services.validation import EDITABLE_FIELDS, MAX_TAGS_PER_TASK, clean_tag_name

__all__ = [
    "EDITABLE_FIELDS",
    "MAX_TAGS_PER_TASK",
    "BulkAction",
    "TaskDraft",
    "clean_tag_name",
    "idempotency_purge",
    "idempotent",
    "request_fingerprint",
    "tag_delete",
    "tag_rename",
    "task_bulk_create",
    "task_bulk_update",
    "task_create",
    "task_create_many",
    "task_delete",
    "task_delete_all",
    "task_import",
    "task_move",
    "task_purge",
    "task_restore",
    "task_set_completed",
    "task_toggle",
    "task_update",
    "trash_cutoff",
]
