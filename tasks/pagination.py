"""Opt-in pagination of the task list: with `limit` (and `cursor` or `offset`) the answer is an
envelope {"count", "next", "results"}; without them, the contract's plain array.

Cursors are keyset cursors: they carry the last row's ordering values, so the next page is an
index range scan however deep it is (an offset re-reads every row before it)."""

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.utils.urls import remove_query_param, replace_query_param

from tasks.selectors import OrderKey

PARAMS = ("limit", "cursor", "offset")
DEFAULT_LIMIT = 50
MAX_LIMIT = 500
MAX_OFFSET = 1_000_000_000  # beyond any list; SQL's OFFSET is a 64-bit integer
DATETIME_FIELDS = {"created_at", "updated_at", "due_at"}
VALUE_TYPES: dict[str, type | tuple[type, ...]] = {"id": int, "priority": int, "position": int, "title": str}
VALUE_TYPES |= {"rank": (int, float), **dict.fromkeys(DATETIME_FIELDS, str)}


def _bounded(request: Request, name: str, low: int, high: int) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
        raise ValidationError({name: [f"Must be an integer from {low} to {high}."]})
    return int(raw)


class TaskPagination:
    def __init__(self, request: Request) -> None:
        self.request = request
        self.active = any(name in request.query_params for name in PARAMS)
        self.limit = _bounded(request, "limit", 1, MAX_LIMIT) or DEFAULT_LIMIT
        self.offset = _bounded(request, "offset", 0, MAX_OFFSET)
        self.cursor = request.query_params.get("cursor") or None
        if self.cursor is not None and self.offset is not None:
            raise ValidationError({"cursor": ["Give cursor or offset, not both."]})

    def page(self, rows: QuerySet[Any], keys: Sequence[OrderKey], render: Callable[[Any], Any]) -> dict[str, Any]:
        """One page of `rows` (already ordered by `keys`) as the envelope."""
        count = rows.order_by().count()
        if self.offset is not None:
            window = list(rows[self.offset : self.offset + self.limit + 1])
        else:
            if self.cursor:
                rows = rows.filter(_after(keys, _decode(self.cursor, keys)))
            window = list(rows[: self.limit + 1])
        items, more = window[: self.limit], len(window) > self.limit
        return {
            "count": count,
            "next": self._next(items, keys) if more else None,
            "results": [render(i) for i in items],
        }

    def _next(self, items: list[Any], keys: Sequence[OrderKey]) -> str:
        url = self.request.build_absolute_uri()
        if self.offset is not None:
            return replace_query_param(url, "offset", self.offset + self.limit)
        values = [_encode_value(getattr(items[-1], key.field)) for key in keys]
        url = replace_query_param(remove_query_param(url, "cursor"), "limit", self.limit)
        return replace_query_param(url, "cursor", _encode(keys, values))


def _signature(keys: Sequence[OrderKey]) -> str:
    return ",".join(("-" if key.descending else "") + key.field for key in keys)


def _encode_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _encode(keys: Sequence[OrderKey], values: list[Any]) -> str:
    raw = json.dumps({"o": _signature(keys), "v": values}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str, keys: Sequence[OrderKey]) -> list[Any]:
    invalid = ValidationError({"cursor": ["Invalid cursor; use the `next` link of the previous page."]})
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        values = data["v"]
        if data["o"] != _signature(keys) or not isinstance(values, list) or len(values) != len(keys):
            raise invalid
        for key, value in zip(keys, values, strict=True):
            if isinstance(value, bool) or not (value is None or isinstance(value, VALUE_TYPES[key.field])):
                raise invalid
        return [
            datetime.fromisoformat(value) if key.field in DATETIME_FIELDS and value is not None else value
            for key, value in zip(keys, values, strict=True)
        ]
    except (ValueError, TypeError, KeyError, binascii.Error, UnicodeDecodeError):
        raise invalid from None


def _after(keys: Sequence[OrderKey], values: Sequence[Any]) -> Q:
    """Rows strictly after `values` in the order of `keys` (nulls last in either direction)."""
    condition, same = Q(pk__in=[]), Q()
    for key, value in zip(keys, values, strict=True):
        if value is None:  # after a null only more nulls come: decided by the next keys
            same &= Q(**{f"{key.field}__isnull": True})
            continue
        step = Q(**{f"{key.field}__{'lt' if key.descending else 'gt'}": value})
        if key.nullable:
            step |= Q(**{f"{key.field}__isnull": True})
        condition |= same & step
        same &= Q(**{key.field: value})
    return condition
