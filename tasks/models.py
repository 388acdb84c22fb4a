from django.conf import settings
from django.core.validators import (
    MaxValueValidator,
    MinValueValidator,
    ProhibitNullCharactersValidator,
    RegexValidator,
)
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Coalesce, Lower
from django.utils import timezone

# The API speaks names; the database stores numbers so that "ordering=-priority" sorts by importance.
PRIORITIES = {"none": 0, "low": 1, "medium": 2, "high": 3}
PRIORITY_NAMES = {number: name for name, number in PRIORITIES.items()}
INT32 = 2**31 - 1
# Tasks nest at most this many levels: a task, its subtasks, and theirs (see tasks/services/subtasks.py).
MAX_DEPTH = 3


class Tag(models.Model):
    """A user's label; created on first use, names are lowercase and unique per user."""

    user_id = models.CharField(max_length=255)
    name = models.CharField(max_length=50)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["user_id", "name"], name="tag_user_name_unique")]

    def __str__(self) -> str:
        return self.name


class TaskList(models.Model):
    """A user's list (project) of tasks. The Inbox is made on first need and holds the tasks without a
    list (Task.list is NULL for them: existing and new tasks need no list row to be in the Inbox)."""

    user_id = models.CharField(max_length=255, help_text="The Better Auth user id of the owner.")
    name = models.CharField(max_length=100, validators=[ProhibitNullCharactersValidator()])
    color = models.CharField(  # noqa: DJ001 - the API has null: no colour chosen
        max_length=7, null=True, blank=True,
        validators=[RegexValidator(r"^#[0-9a-fA-F]{6}$", "Must be a colour as #rrggbb.")],
    )  # fmt: skip
    position = models.IntegerField(default=0, validators=[MinValueValidator(-INT32), MaxValueValidator(INT32)])
    archived = models.BooleanField(default=False)
    inbox = models.BooleanField(default=False, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)
    deleted_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="Set when deleted: in the trash with its tasks."
    )

    class Meta:
        ordering = ["position", "id"]
        indexes = [models.Index(fields=["user_id", "position", "id"], name="list_user_position_idx")]
        constraints = [
            models.UniqueConstraint(
                Lower("name"), "user_id", condition=Q(deleted_at=None), name="list_user_name_unique"
            ),
            models.UniqueConstraint(fields=["user_id"], condition=Q(inbox=True), name="list_user_one_inbox"),
            models.CheckConstraint(condition=~Q(name=""), name="list_name_not_blank"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:  # services set updated_at themselves; this covers the admin
            self.updated_at = timezone.now()
        super().save(*args, **kwargs)


class Task(models.Model):
    user_id = models.CharField(max_length=255, help_text="The Better Auth user id of the owner.")
    # PostgreSQL cannot store NUL characters: refuse them as invalid input, not as a database error.
    title = models.CharField(max_length=200, validators=[ProhibitNullCharactersValidator()])
    description = models.CharField(  # noqa: DJ001 - the contract has null
        max_length=1000, null=True, blank=True, validators=[ProhibitNullCharactersValidator()]
    )
    completed = models.BooleanField(default=False)
    priority = models.PositiveSmallIntegerField(
        default=0, choices=[(number, name.title()) for name, number in PRIORITIES.items()]
    )
    tags = models.ManyToManyField(Tag, related_name="tasks", blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    recurrence = models.CharField(  # noqa: DJ001 - null means "does not repeat", as in the API
        max_length=200, null=True, blank=True, help_text="An RRULE (RFC 5545 subset), e.g. FREQ=WEEKLY;BYDAY=MO."
    )
    completed_at = models.DateTimeField(null=True, blank=True)
    position = models.IntegerField(default=0, validators=[MinValueValidator(-INT32), MaxValueValidator(INT32)])
    # NULL: the Inbox. Indexed with the user below (task_user_list_live_idx), not on its own.
    list = models.ForeignKey(
        TaskList, null=True, blank=True, on_delete=models.SET_NULL, db_index=False, related_name="tasks"
    )
    # A subtask's task (same user, same list, at most MAX_DEPTH levels); NULL: a top-level task.
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, db_index=False, related_name="subtasks"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)
    deleted_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="Set when deleted: the task is in the trash (a tombstone)."
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # "This user's live tasks, newest first": the default list and its cursor pages.
            models.Index(
                fields=["user_id", "-created_at", "-id"],
                name="task_user_created_live_idx",
                condition=Q(deleted_at=None),
            ),
            # "What changed since": incremental sync, tombstones included.
            models.Index(fields=["user_id", "updated_at", "id"], name="task_user_updated_idx"),
            # Due-date filters and ordering.
            models.Index(
                fields=["user_id", "due_at", "id"], name="task_user_due_live_idx", condition=Q(deleted_at=None)
            ),
            # The purge of old tombstones.
            models.Index(fields=["deleted_at"], name="task_deleted_idx", condition=Q(deleted_at__isnull=False)),
            # One list's live tasks, newest first (?list=), and the counts per list.
            # (The Inbox's tasks have no list: 0 stands for it, see selectors.LIST_KEY.)
            models.Index(
                "user_id",
                Coalesce("list", 0, output_field=models.BigIntegerField()),
                F("created_at").desc(),
                F("id").desc(),
                name="task_user_list_live_idx",
                condition=Q(deleted_at=None),
            ),
            # A task's subtasks (the subtree reads, moves and cascades): only subtasks are in it.
            models.Index(fields=["parent", "id"], name="task_parent_idx", condition=Q(parent__isnull=False)),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(title=""), name="task_title_not_blank"),
        ]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs) -> None:
        # Services write with UPDATE and set updated_at themselves; this covers the admin.
        if not self._state.adding:
            self.updated_at = timezone.now()
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "updated_at"}
        super().save(*args, **kwargs)

    @property
    def priority_name(self) -> str:
        return PRIORITY_NAMES[self.priority]


class IdempotencyKey(models.Model):
    """The first response to a request that carried an Idempotency-Key, replayed for repeats."""

    user_id = models.CharField(max_length=255)
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the method, path and body.")
    status_code = models.PositiveSmallIntegerField()
    response = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user_id", "key"], name="idempotency_user_key_unique")]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created_idx")]

    def __str__(self) -> str:
        return self.key

    @property
    def expired(self) -> bool:
        return self.created_at < timezone.now() - settings.IDEMPOTENCY_KEY_TTL
