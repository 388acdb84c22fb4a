"""Webhooks: a user's HTTPS (or HTTP) endpoints that receive their events, signed per Standard Webhooks,
and the log of every delivery and attempt."""

import uuid

from django.db import models
from django.utils import timezone


class Webhook(models.Model):
    user_id = models.CharField(max_length=255, help_text="The Better Auth user id of the owner.")
    url = models.URLField(max_length=2000, help_text="Where the events are POSTed.")
    event_types = models.JSONField(
        default=list, blank=True, help_text="The CloudEvents types delivered (e.g. todo.task.created); empty: all."
    )
    description = models.CharField(max_length=200, blank=True, default="")
    # Standard Webhooks' whsec_<base64>: kept as is, since signing needs it; never shown after creation.
    secret = models.CharField(max_length=100, editable=False)
    active = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=200, blank=True, default="", help_text="Why it was turned off.")
    # The first failed attempt since the last success (None while it succeeds): a delivery that gives up
    # after the whole schedule with no success since it was made turns the webhook off.
    failing_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["user_id", "active"], name="webhook_user_active")]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.url}"

    def wants(self, event_type: str) -> bool:
        return not self.event_types or event_type in self.event_types


class Delivery(models.Model):
    """One event for one webhook: its message (the webhook-id, the body) and where its attempts stand.
    Made when the worker numbers the event; attempted by the task webhooks.delivery.deliver."""

    class Status(models.TextChoices):
        PENDING = "pending"
        DELIVERED = "delivered"
        FAILED = "failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False, help_text="Its webhook-id: msg_<hex>.")
    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    user_id = models.CharField(max_length=255)
    event_id = models.UUIDField(help_text="The CloudEvents id of the event it carries.")
    event_type = models.CharField(max_length=64)
    body = models.TextField(help_text="The event as CloudEvents structured JSON, sent as is on every attempt.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # Held by the worker making an attempt (its HTTP timeout and some): past it, the attempt died with its worker.
    leased_until = models.DateTimeField(null=True, blank=True)
    task_id = models.UUIDField(null=True, blank=True, help_text="The django-tasks result of its next attempt.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    finished_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True, default="")

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "deliveries"
        constraints = [models.UniqueConstraint(fields=["webhook", "event_id"], name="delivery_webhook_event")]
        indexes = [
            models.Index(fields=["webhook", "-created_at"], name="delivery_webhook_recent"),
            models.Index(fields=["next_attempt_at"], condition=models.Q(status="pending"), name="delivery_pending"),
        ]

    def __str__(self) -> str:
        return f"{self.message_id} {self.event_type} → {self.webhook_id}: {self.status}"

    @property
    def message_id(self) -> str:
        return f"msg_{self.id.hex}"


class Attempt(models.Model):
    """One POST of a delivery: what the receiver answered (or why nothing was sent or answered)."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="log")
    number = models.PositiveIntegerField()
    at = models.DateTimeField()
    status_code = models.PositiveIntegerField(null=True, blank=True, help_text="None: no answer (see error).")
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True, default="")
    response = models.CharField(max_length=500, blank=True, default="", help_text="The answer's first characters.")

    class Meta:
        ordering = ["delivery", "number"]
        constraints = [models.UniqueConstraint(fields=["delivery", "number"], name="attempt_delivery_number")]

    def __str__(self) -> str:
        return f"{self.delivery_id} #{self.number}: {self.status_code or self.error}"

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
