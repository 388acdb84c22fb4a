"""A task's public fields, declared once, in the order the API renders them.

The serializer (its fields and its fast rendering), the services' editable fields, the CSV export and
import, and the benchmark's bare baseline read this; tests/tasks/test_fields.py checks that each does,
and that every column of the model is declared here or named internal. Plain data: no Django import,
so the baseline can read it without setting Django up.

Adding an optional field to tasks: the model field (and its migration), then a line here. The
serializer derives it from the model (declare it there only for a rule the model cannot say), the
exports and the services follow this list."""

from dataclasses import dataclass
from typing import Literal

Kind = Literal["id", "text", "bool", "int", "datetime", "priority", "tags"]


@dataclass(frozen=True)
class TaskField:
    name: str
    kind: Kind
    read_only: bool = False
    nullable: bool = False
    exported: bool = True  # a column of the CSV export
    stamp: bool = False  # a record timestamp: the CSV puts these last


TASK_FIELDS = (
    TaskField("id", "id", read_only=True),
    TaskField("user_id", "text", read_only=True, exported=False),
    TaskField("title", "text"),
    TaskField("description", "text", nullable=True),
    TaskField("completed", "bool"),
    TaskField("created_at", "datetime", read_only=True, stamp=True),
    TaskField("updated_at", "datetime", read_only=True, stamp=True),
    TaskField("priority", "priority"),
    TaskField("tags", "tags"),
    TaskField("due_at", "datetime", nullable=True),
    TaskField("recurrence", "text", nullable=True),
    TaskField("completed_at", "datetime", read_only=True, nullable=True),
    TaskField("position", "int"),
    TaskField("list_id", "int", nullable=True, exported=False),  # null: the Inbox; exports name it (LIST_COLUMN)
    TaskField("parent_id", "int", nullable=True),  # null: a top-level task; in an export, another row's id
)
# Columns of the model that are not public: the trash's timestamp (a deleted task is a tombstone).
INTERNAL_COLUMNS = ("deleted_at",)

PUBLIC_NAMES = tuple(field.name for field in TASK_FIELDS)
READ_ONLY_NAMES = tuple(field.name for field in TASK_FIELDS if field.read_only)
EDITABLE_NAMES = tuple(field.name for field in TASK_FIELDS if not field.read_only)
# The exports' own column: a task's list by name (null or empty: the Inbox), since ids of lists mean
# nothing in another account; an import finds the list by that name, or makes it.
LIST_COLUMN = "list"
CSV_NAMES = tuple(
    [field.name for field in TASK_FIELDS if field.exported and not field.stamp]
    + [LIST_COLUMN]
    + [field.name for field in TASK_FIELDS if field.exported and field.stamp]
)
