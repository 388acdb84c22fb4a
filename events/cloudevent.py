"""An outbox row as a CloudEvents 1.0 event (the `cloudevents` package), in the structured JSON format."""

from typing import Any

from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from django.conf import settings

from events.models import Event

JSON = JSONFormat()


def cloudevent(event: Event) -> CloudEvent:
    """The event, with the user's sequence number as the `sequence` extension (a string that sorts
    lexicographically, as that extension asks: 20 digits, zero-padded) and the user as `userid`. Only
    numbered events are rendered (events.sequencer)."""
    if event.sequence is None:
        raise ValueError(f"Event {event.pk} has no sequence number yet.")
    attributes: dict[str, Any] = {
        "id": str(event.uuid),
        "source": settings.EVENTS_SOURCE,
        "type": event.type,
        "subject": event.subject,
        "time": event.time,
        "datacontenttype": "application/json",
        "sequence": f"{event.sequence:020d}",
        "userid": event.user_id,
    }
    return CloudEvent(attributes, event.data)


def structured_json(event: Event) -> bytes:
    """The event as one JSON document (what the broker and webhooks carry)."""
    return JSON.write(cloudevent(event))
