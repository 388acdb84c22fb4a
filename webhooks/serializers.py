import json
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from tasks.events import EVENT_TYPES
from todo_project.api import RejectUnknownFieldsMixin, StrictBooleanField, StrictCharField
from webhooks.models import Attempt, Delivery, Webhook


class WebhookSerializer(RejectUnknownFieldsMixin, serializers.ModelSerializer):
    url = StrictCharField(
        max_length=2000,
        help_text="An http(s) URL without credentials whose host resolves to public addresses only "
        "(loopback, private, link-local and metadata addresses are refused, here and before every attempt).",
    )
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENT_TYPES), required=False, max_length=len(EVENT_TYPES),
        help_text="The CloudEvents types to deliver; empty or absent: all of them.",
    )  # fmt: skip
    description = StrictCharField(max_length=200, required=False, allow_blank=True)
    active = StrictBooleanField(
        required=False, help_text="Off: nothing is delivered. Turned off by itself after a day of failures."
    )

    class Meta:
        model = Webhook
        fields = ["id", "url", "event_types", "description", "active", "disabled_reason", "failing_since",
                  "created_at", "updated_at"]  # fmt: skip
        read_only_fields = ["id", "disabled_reason", "failing_since", "created_at", "updated_at"]


class NewWebhookSerializer(WebhookSerializer):
    secret = serializers.CharField(
        read_only=True, help_text="The signing secret (Standard Webhooks whsec_…): shown in this answer only."
    )

    class Meta(WebhookSerializer.Meta):
        fields = [*WebhookSerializer.Meta.fields, "secret"]


class AttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = Attempt
        fields = ["number", "at", "status_code", "latency_ms", "error", "response"]


@extend_schema_field({"$ref": "#/components/schemas/CloudEvent"})
class EventField(serializers.Field):
    """A delivery's body, the event, as JSON."""

    def to_representation(self, value: str) -> Any:
        return json.loads(value)


class DeliverySerializer(serializers.ModelSerializer):
    webhook_id = serializers.IntegerField(read_only=True)
    event = EventField(source="body", read_only=True, help_text="What its every attempt POSTs.")
    message_id = serializers.CharField(read_only=True, help_text="The webhook-id header of its every attempt.")
    log = AttemptSerializer(many=True, read_only=True, help_text="Its attempts, first first.")

    class Meta:
        model = Delivery
        fields = ["id", "webhook_id", "message_id", "event_id", "event_type", "status", "attempts",
                  "next_attempt_at", "created_at", "finished_at", "last_error", "event", "log"]  # fmt: skip
        read_only_fields = fields
