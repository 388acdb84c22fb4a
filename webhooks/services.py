"""Writes of webhooks: the REST views and the admin call these, so the target's check (SSRF), the limits
and the secret's making live once."""

import base64
import secrets
import uuid
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from tasks.events import EVENT_TYPES
from webhooks import targets
from webhooks.delivery import enqueue
from webhooks.exceptions import DeliveryNotFound, WebhookNotFound
from webhooks.models import Delivery, Webhook

MAX_WEBHOOKS_PER_USER = 20
EDITABLE_FIELDS = {"url", "event_types", "description", "active"}


def new_secret() -> str:
    """A Standard Webhooks signing secret: whsec_ and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def webhook_create(*, user_id: str, url: str, event_types: Sequence[str] = (), description: str = "",
                   active: bool = True) -> Webhook:  # fmt: skip
    """A new webhook, its `secret` readable on the returned object (the only time anyone sees it)."""
    values = clean(url=url, event_types=event_types)
    with transaction.atomic():
        if Webhook.objects.filter(user_id=user_id).count() >= MAX_WEBHOOKS_PER_USER:
            raise ValidationError({"url": [f"At most {MAX_WEBHOOKS_PER_USER} webhooks per user."]})
        return Webhook.objects.create(
            user_id=user_id, description=description, active=active, secret=new_secret(), **values
        )


def webhook_update(*, user_id: str, webhook_id: int, **changes: Any) -> Webhook:
    """Change some of EDITABLE_FIELDS; turning a webhook on again forgets its failures."""
    if unknown := set(changes) - EDITABLE_FIELDS:
        raise TypeError(f"Not editable webhook fields: {', '.join(sorted(unknown))}")
    values = clean(**{name: changes.pop(name) for name in ("url", "event_types") if name in changes})
    with transaction.atomic():
        webhook = webhook_get(user_id=user_id, webhook_id=webhook_id, for_update=True)
        if changes.get("active") and not webhook.active:
            values |= {"failing_since": None, "disabled_reason": ""}
        for name, value in (changes | values).items():
            setattr(webhook, name, value)
        webhook.updated_at = timezone.now()
        webhook.save()
    return webhook


def webhook_delete(*, user_id: str, webhook_id: int) -> None:
    """The webhook and its deliveries' log; attempts already enqueued find nothing and do nothing."""
    deleted, _ = Webhook.objects.filter(user_id=user_id, id=webhook_id).delete()
    if not deleted:
        raise WebhookNotFound(webhook_id)


def webhook_get(*, user_id: str, webhook_id: int, for_update: bool = False) -> Webhook:
    found = Webhook.objects.filter(user_id=user_id, id=webhook_id)
    webhook = (found.select_for_update() if for_update else found).first()
    if webhook is None:
        raise WebhookNotFound(webhook_id)
    return webhook


def delivery_redeliver(*, user_id: str, webhook_id: int, delivery_id: uuid.UUID) -> Delivery:
    """Send a delivery again, now, with the same webhook-id and body (a receiver that has it can tell);
    pending again until that attempt's answer, with the retry schedule of any delivery."""
    with transaction.atomic():
        webhook = webhook_get(user_id=user_id, webhook_id=webhook_id)
        delivery = Delivery.objects.select_for_update().filter(webhook=webhook, user_id=user_id, id=delivery_id).first()
        if delivery is None:
            raise DeliveryNotFound(delivery_id)
        if not webhook.active:
            raise ValidationError({"detail": ["The webhook is turned off: turn it on (active: true) first."]})
        if delivery.status == Delivery.Status.PENDING and delivery.leased_until is not None:
            raise ValidationError({"detail": ["An attempt of this delivery is under way."]})
        enqueue(delivery, delivery.attempts + 1)
        delivery.status, delivery.finished_at, delivery.leased_until = Delivery.Status.PENDING, None, None
        delivery.save(update_fields=["status", "finished_at", "leased_until", "task_id", "next_attempt_at"])
    return delivery


def clean(**values: Any) -> dict[str, Any]:
    """The URL checked (targets: scheme, credentials, every address it resolves to) and the event types
    known; ValidationError with every field's messages."""
    errors: dict[str, list[str]] = {}
    if "url" in values:
        try:
            targets.check(values["url"])
        except targets.Refused as refused:
            errors["url"] = [str(refused)]
        values["url"] = values["url"].strip()
    if "event_types" in values:
        unknown = sorted(set(values["event_types"]) - set(EVENT_TYPES))
        if unknown:
            errors["event_types"] = [f"Unknown event types: {', '.join(unknown)}. Known: {', '.join(EVENT_TYPES)}."]
        values["event_types"] = sorted(set(values["event_types"]))
    if errors:
        raise ValidationError(errors)
    return values
