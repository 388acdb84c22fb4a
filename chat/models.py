from django.db import models
from django.utils import timezone


class Conversation(models.Model):
    user_id = models.CharField(max_length=255, help_text="The Better Auth user id of the owner.")
    title = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)
    pending = models.JSONField(
        null=True,
        blank=True,
        help_text="The task calls the last turn held for confirmation: [{name, task_id}]; a yes runs them.",
    )

    class Meta:
        ordering = ["-updated_at", "-id"]
        indexes = [
            # "This user's conversations, newest first."
            models.Index(fields=["user_id", "-updated_at", "-id"], name="conversation_user_recent_idx"),
        ]

    def __str__(self) -> str:
        return self.title or f"Conversation {self.pk}"


class Message(models.Model):
    class Role(models.TextChoices):
        USER = "user"
        ASSISTANT = "assistant"
        TOOL = "tool"

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    user_id = models.CharField(max_length=255)
    role = models.CharField(max_length=16, choices=Role.choices)
    content = models.TextField(blank=True)
    tool_calls = models.JSONField(
        null=True, blank=True, help_text="Assistant: the calls it made. Tool: the call this result answers."
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["id"]
        indexes = [
            # "This conversation's messages in order" (and the last N of them).
            models.Index(fields=["conversation", "id"], name="message_conversation_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.role}: {self.content[:60]}"
