"""Each numbered event becomes a delivery for every active webhook of its user that wants its type, in the
sequencer's transaction (events.signals.numbered): once per event and webhook, with its first attempt
enqueued at once."""

from typing import Any

from django.dispatch import receiver
from django.utils import timezone

from events.cloudevent import structured_json
from events.models import Event
from events.signals import numbered
from webhooks.delivery import enqueue
from webhooks.models import Delivery, Webhook


@receiver(numbered, dispatch_uid="webhooks.fanout")
def fan_out(sender: Any, *, user_id: str, event_ids: list[int], **kwargs: Any) -> None:
    webhooks = list(Webhook.objects.filter(user_id=user_id, active=True))
    if not webhooks:
        return
    now = timezone.now()
    deliveries = []
    for event in Event.objects.filter(id__in=event_ids).order_by("id"):
        body = None
        for webhook in webhooks:
            if webhook.wants(event.type):
                body = body or structured_json(event).decode()
                delivery = Delivery(webhook=webhook, user_id=user_id, event_id=event.uuid, event_type=event.type,
                                    body=body, created_at=now)  # fmt: skip
                enqueue(delivery, 1)
                deliveries.append(delivery)
    Delivery.objects.bulk_create(deliveries, batch_size=500)
