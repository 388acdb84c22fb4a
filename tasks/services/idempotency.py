"""Idempotency keys: the first response to a request that carried one, replayed for its repeats."""

import hashlib
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from tasks.exceptions import IdempotencyKeyReused
from tasks.models import IdempotencyKey


def request_fingerprint(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(b"\n".join([method.encode(), path.encode(), body])).hexdigest()


def idempotent(
    *, user_id: str, key: str, fingerprint: str, respond: Callable[[], tuple[int, Any]]
) -> tuple[int, Any, bool]:
    """Run `respond` once per (user, key): a repeat gets the stored (status, body) and True.

    The key row is inserted in the same transaction as the work, so a concurrent repeat waits on
    the unique index until the first commits, then replays it; if the work fails, the key is free."""
    with transaction.atomic():
        while True:
            try:
                with transaction.atomic():
                    record = IdempotencyKey.objects.create(
                        user_id=user_id, key=key, fingerprint=fingerprint, status_code=0, response={}
                    )
                break
            except IntegrityError:
                record = IdempotencyKey.objects.get(user_id=user_id, key=key)
                if record.expired:
                    record.delete()
                    continue
                if record.fingerprint != fingerprint:
                    raise IdempotencyKeyReused from None
                return record.status_code, record.response, True
        status, body = respond()
        record.status_code, record.response = status, body
        record.save(update_fields=["status_code", "response"])
        return status, body, False


def idempotency_purge() -> int:
    """Forget the idempotency keys older than IDEMPOTENCY_KEY_TTL; return how many."""
    cutoff = timezone.now() - settings.IDEMPOTENCY_KEY_TTL
    return IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()[0]
