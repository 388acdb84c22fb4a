"""The outbox: every change of a user's data as an event row, written in the change's own transaction."""

import uuid

from django.db import models


class Event(models.Model):
    """One change, as a CloudEvents 1.0 event (events.cloudevent renders it): written with the change,
    so it exists if and only if the change committed. The worker numbers it (`sequence`), then relays it."""

    # The order of insertion: a task's writes wait on its row lock, so its events are inserted (and
    # committed) in the order of its changes; the sequencer numbers events in this order.
    id = models.BigAutoField(primary_key=True)
    uuid = models.UUIDField(default=uuid.uuid4, editable=False, help_text="The CloudEvents id.")
    user_id = models.CharField(max_length=255, help_text="The Better Auth user id whose data changed.")
    sequence = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="The user's event number (1, 2, …), given by the worker's sequencer."
    )
    type = models.CharField(max_length=64, help_text="e.g. todo.task.created")
    subject = models.CharField(max_length=300, help_text="What changed, e.g. tasks/12")
    time = models.DateTimeField()
    data = models.JSONField()
    published_at = models.DateTimeField(null=True, blank=True, help_text="When the broker acknowledged it.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user_id", "sequence"], name="event_user_sequence")]
        indexes = [
            # The sequencer's queue and the relay's: small indexes, since rows leave them.
            models.Index(fields=["user_id", "id"], condition=models.Q(sequence=None), name="event_unsequenced"),
            models.Index(fields=["time"], condition=models.Q(published_at=None), name="event_pending"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} #{self.sequence} {self.type} {self.subject}"


class EventSequence(models.Model):
    """The last sequence number given to a user's events. Never deleted, so pruning old events never
    lets a number be given twice."""

    user_id = models.CharField(max_length=255, primary_key=True)
    last = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.user_id}: {self.last}"
