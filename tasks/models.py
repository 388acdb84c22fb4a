from django.core.validators import ProhibitNullCharactersValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Task(models.Model):
    user_id = models.CharField(max_length=255, help_text="The Better Auth user id of the owner.")
    # PostgreSQL cannot store NUL characters: refuse them as invalid input, not as a database error.
    title = models.CharField(max_length=200, validators=[ProhibitNullCharactersValidator()])
    description = models.CharField(  # noqa: DJ001 - the contract has null
        max_length=1000, null=True, blank=True, validators=[ProhibitNullCharactersValidator()]
    )
    completed = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # Serves "this user's tasks, newest first" (and any lookup by user_id alone).
            models.Index(fields=["user_id", "-created_at", "-id"], name="task_user_created_idx"),
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
