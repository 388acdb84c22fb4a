"""Delivering a webhook's messages: each attempt is a django-tasks task (the database backend, run by
`manage.py worker`), enqueued for its moment: at once for the first, then with exponential backoff and
jitter (WEBHOOK_BACKOFF_SECONDS * 4^(n-1), at most WEBHOOK_BACKOFF_CAP_SECONDS, ±25 %) until
WEBHOOK_MAX_ATTEMPTS, about a day with the defaults.

An attempt claims its delivery (a lease as long as the HTTP timeout and some), POSTs the body signed per
Standard Webhooks, and records the answer with what comes next in one transaction. A 2xx ends the
delivery, which is never sent again by itself; a worker that dies mid-attempt leaves its lease to expire,
and `recover()` enqueues the attempt again (the receiver may then see that webhook-id twice, which is why
Standard Webhooks gives it: at least once, deduplicated by id). A delivery that gives up with no success
to the webhook since its first attempt turns the webhook off.

Nothing here logs a secret, a header or the target's URL (which may carry a token): only webhook and
delivery ids."""

import logging
import random
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx2
from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django_tasks import task
from django_tasks_db.models import DBTaskResult
from standardwebhooks.webhooks import Webhook as Signer

from webhooks import targets
from webhooks.models import Attempt, Delivery, Webhook

logger = logging.getLogger(__name__)

RESPONSE_PREFIX = 500  # characters of the answer kept in the log
USER_AGENT = "todo-backend-webhooks/1"
RECOVER_AFTER = timedelta(minutes=1)  # an attempt overdue by this much, with no task waiting, is enqueued again


@task()
def deliver(delivery_id: str, number: int) -> str:
    """Attempt number `number` of the delivery (a task that finds it already made, or taken, does nothing)."""
    return attempt(uuid.UUID(delivery_id), number)


def enqueue(delivery: Delivery, number: int, at: datetime | None = None) -> None:
    """Schedule the delivery's attempt `number` (at once without `at`); the caller saves `task_id`."""
    scheduled = deliver.using(run_after=at) if at is not None else deliver
    delivery.task_id = uuid.UUID(str(scheduled.enqueue(str(delivery.id), number).id))
    delivery.next_attempt_at = at or timezone.now()


def attempt(delivery_id: uuid.UUID, number: int) -> str:
    now = timezone.now()
    lease = timedelta(seconds=settings.WEBHOOK_TIMEOUT_SECONDS * 2 + 30)
    claimed = (
        Delivery.objects.filter(id=delivery_id, status=Delivery.Status.PENDING, attempts=number - 1)
        .filter(Q(leased_until=None) | Q(leased_until__lt=now))
        .update(leased_until=now + lease)
    )
    if not claimed:
        return "nothing to do"
    delivery = Delivery.objects.select_related("webhook").get(id=delivery_id)
    webhook = delivery.webhook
    if not webhook.active:
        finish(delivery, Delivery.Status.FAILED, "The webhook is turned off.")
        return "webhook off"
    sent_at = timezone.now()
    outcome = post(webhook, delivery)
    record(delivery, number, sent_at, outcome)
    logger.info("webhook %s delivery %s attempt %d: %s", webhook.id, delivery.message_id, number, outcome.summary)
    return outcome.summary


@dataclass(frozen=True)
class Outcome:
    """What one POST got: a status (with its latency and the answer's start), or why none."""

    status_code: int | None = None
    latency_ms: int | None = None
    error: str = ""
    response: str = ""

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def summary(self) -> str:
        return f"HTTP {self.status_code}" if self.status_code is not None else self.error


def signed_headers(secret: str, message_id: str, body: str, at: datetime) -> dict[str, str]:
    """The Standard Webhooks headers of one attempt (its timestamp is the attempt's, not the event's)."""
    at = at.astimezone(UTC)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Signer(secret).sign(message_id, at, body),
    }


def post(webhook: Webhook, delivery: Delivery) -> Outcome:
    """One POST, to the address just checked (no redirects followed, no proxy from the environment)."""
    try:
        target = targets.parse(webhook.url)
        address = targets.resolve(target)
    except targets.Refused as refused:
        return Outcome(error=f"Not sent: {refused}"[:300])
    body = delivery.body.encode()
    headers = {
        **signed_headers(webhook.secret, delivery.message_id, delivery.body, timezone.now()),
        "content-type": "application/cloudevents+json; charset=utf-8",
        "user-agent": USER_AGENT,
        "host": target.host_header,
    }
    extensions = {"sni_hostname": target.host} if target.url.scheme == "https" else {}
    timeout = httpx2.Timeout(settings.WEBHOOK_TIMEOUT_SECONDS)
    started = time.monotonic()
    try:
        with client().stream(
            "POST", target.url_at(address), content=body, headers=headers, extensions=extensions, timeout=timeout
        ) as response:
            latency_ms = round((time.monotonic() - started) * 1000)
            prefix = bytearray()
            for chunk in response.iter_raw():
                prefix += chunk
                if len(prefix) >= RESPONSE_PREFIX:
                    break
            text = bytes(prefix[:RESPONSE_PREFIX]).decode("utf-8", "replace")
            return Outcome(response.status_code, latency_ms, response=text)
    except httpx2.TimeoutException:
        return Outcome(error=f"No answer within {settings.WEBHOOK_TIMEOUT_SECONDS:g} s.")
    except httpx2.ConnectError:
        return Outcome(error="Could not connect.")
    except httpx2.HTTPError as error:
        return Outcome(error=f"{type(error).__name__}: {error}"[:300])


_clients = threading.local()


def client() -> httpx2.Client:
    """This thread's HTTP client: its connections stay open to the addresses it sent to (each the address
    checked, so a kept connection goes nowhere else)."""
    if getattr(_clients, "client", None) is None:
        _clients.client = httpx2.Client(follow_redirects=False, trust_env=False)
    return _clients.client


def backoff(number: int) -> timedelta:
    """The wait after failed attempt `number`: exponential, capped, with jitter."""
    delay = min(settings.WEBHOOK_BACKOFF_CAP_SECONDS, settings.WEBHOOK_BACKOFF_SECONDS * 4 ** (number - 1))
    return timedelta(seconds=delay * random.uniform(0.75, 1.25))  # noqa: S311 - jitter, not a secret


@transaction.atomic
def record(delivery: Delivery, number: int, sent_at: datetime, outcome: Outcome) -> None:
    now = timezone.now()
    Attempt.objects.create(
        delivery=delivery, number=number, at=sent_at, status_code=outcome.status_code,
        latency_ms=outcome.latency_ms, error=outcome.error, response=outcome.response,
    )  # fmt: skip
    delivery.attempts = number
    webhook = Webhook.objects.filter(id=delivery.webhook_id)  # conditional updates: no lock on the webhook's row
    if outcome.succeeded:
        webhook.filter(failing_since__isnull=False).update(failing_since=None)
        finish(delivery, Delivery.Status.DELIVERED)
        return
    webhook.filter(failing_since=None).update(failing_since=sent_at)
    error = outcome.error or f"HTTP {outcome.status_code}"
    if number < settings.WEBHOOK_MAX_ATTEMPTS:
        enqueue(delivery, number + 1, at=now + backoff(number))
        delivery.last_error, delivery.leased_until = error, None
        delivery.save(update_fields=["attempts", "next_attempt_at", "task_id", "last_error", "leased_until"])
        return
    finish(delivery, Delivery.Status.FAILED, f"Gave up after {number} attempts: {error}")
    first = Attempt.objects.filter(delivery=delivery, number=1).values_list("at", flat=True).first() or sent_at
    # Failing since this delivery's first attempt at the latest: nothing got through to it since.
    reason = f"Every attempt failed from {first:%Y-%m-%d %H:%M} UTC to {now:%Y-%m-%d %H:%M} UTC."
    if webhook.filter(active=True, failing_since__lte=first).update(
        active=False, disabled_reason=reason, updated_at=now
    ):
        turn_off(delivery.webhook_id, reason)


def finish(delivery: Delivery, status: str, error: str = "") -> None:
    delivery.status, delivery.finished_at, delivery.leased_until = status, timezone.now(), None
    delivery.next_attempt_at, delivery.last_error = None, error[:300] or delivery.last_error
    if status == Delivery.Status.DELIVERED:
        delivery.last_error = ""
    delivery.save(update_fields=["status", "attempts", "finished_at", "leased_until", "next_attempt_at", "last_error"])


def turn_off(webhook_id: int, reason: str) -> None:
    """After sustained failure turned the webhook off: its other pending deliveries end with it."""
    Delivery.objects.filter(webhook_id=webhook_id, status=Delivery.Status.PENDING).update(
        status=Delivery.Status.FAILED, finished_at=timezone.now(), next_attempt_at=None,
        last_error="The webhook was turned off.",
    )  # fmt: skip
    logger.warning("webhook %s turned off: %s", webhook_id, reason)


def recover(*, now: datetime | None = None) -> int:
    """Enqueue again the attempts whose task is gone: a worker died mid-attempt (its lease expired) or the
    task failed outside the attempt. How many."""
    now = now or timezone.now()
    waiting = DBTaskResult.objects.filter(id=OuterRef("task_id"), status="READY")
    stranded = (
        Delivery.objects.filter(status=Delivery.Status.PENDING, next_attempt_at__lt=now - RECOVER_AFTER)
        .filter(Q(leased_until=None) | Q(leased_until__lt=now))
        .exclude(Exists(waiting))
    )
    count = 0
    for delivery in stranded[:500]:
        with transaction.atomic():
            enqueue(delivery, delivery.attempts + 1)
            delivery.save(update_fields=["task_id", "next_attempt_at"])
        count += 1
    return count


def prune(*, now: datetime | None = None) -> int:
    """Finished deliveries (and their logs) and finished task results older than EVENTS_RETENTION."""
    cutoff = (now or timezone.now()) - settings.EVENTS_RETENTION
    deleted, _ = Delivery.objects.exclude(status=Delivery.Status.PENDING).filter(finished_at__lt=cutoff).delete()
    DBTaskResult.objects.finished().filter(finished_at__lt=cutoff).delete()
    return deleted
