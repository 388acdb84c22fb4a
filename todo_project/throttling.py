"""Per-user rates, counted in the shared cache (Redis, or the database) so every worker agrees, and the
client address that per-address limits key on."""

import threading
import time
from typing import TYPE_CHECKING

import redis
from django.conf import settings
from django.http import HttpRequest
from rest_framework.throttling import BaseThrottle, UserRateThrottle

if TYPE_CHECKING:  # DRF imports this module while rest_framework.views is still loading
    from rest_framework.request import Request
    from rest_framework.views import APIView


class FixedWindowRateThrottle(UserRateThrottle):
    """At most N requests per user in each window (second, minute, hour or day).

    DRF's own throttle keeps a list of every request time in the window and stores it back on
    each request: at 1,200/min that list is pickled and sent to the cache 1,200 times a minute. A
    counter per window (atomic INCR in Redis) costs the same whatever the rate."""

    # Set by SimpleRateThrottle.__init__ from the rate (parse_rate); read only when there is a rate.
    num_requests: int
    duration: int

    def allow_request(self, request: "Request", view: "APIView") -> bool:
        if self.rate is None:
            return True
        ident = self.get_cache_key(request, view)
        if ident is None:
            return True
        now = time.time()
        window = int(now // self.duration)
        count = self._count(f"{ident}:{window}")
        self.retry_after = (window + 1) * self.duration - now
        return count <= self.num_requests

    def wait(self) -> float:
        return self.retry_after

    def _count(self, key: str) -> int:
        """Add this request to the window's counter and return it: one round trip with Redis."""
        if settings.REDIS_URL:
            pipe = redis_client(settings.REDIS_URL).pipeline(transaction=False)
            pipe.incr(key)
            pipe.expire(key, self.duration + 1, nx=True)
            return pipe.execute()[0]
        try:
            return self.cache.incr(key)
        except ValueError:  # the window's first request
            return 1 if self.cache.add(key, 1, timeout=self.duration + 1) else self.cache.incr(key)


_redis_clients: dict[str, redis.Redis] = {}
_redis_clients_lock = threading.Lock()


def redis_client(url: str) -> redis.Redis:
    """One client (and connection pool) per process; Django's cache builds a new client per call.

    Created under a lock: two threads racing on a worker's first requests would each build one, and
    the discarded client closes its pool while the other thread still uses it (seen as 500s)."""
    with _redis_clients_lock:
        if url not in _redis_clients:
            _redis_clients[url] = redis.Redis.from_url(url)
        return _redis_clients[url]


class ApiRateThrottle(FixedWindowRateThrottle):
    """Every API route: API_RATE per user (e.g. 1200/min)."""

    scope = "api"

    def get_rate(self) -> str | None:
        return settings.API_RATE or None  # empty: no limit


class ChatRateThrottle(FixedWindowRateThrottle):
    """Chat turns: CHAT_RATE per user (e.g. 20/min), on top of the API rate."""

    scope = "chat"

    def get_rate(self) -> str | None:
        return settings.CHAT_RATE or None


class SchemaRateThrottle(FixedWindowRateThrottle):
    """The public OpenAPI schema: SCHEMA_RATE per client address (no token needed to read it)."""

    scope = "schema"

    def get_rate(self) -> str | None:
        return settings.SCHEMA_RATE or None


def client_address(request: HttpRequest) -> str:
    """The client's address as DRF's throttles see it (REMOTE_ADDR, or with NUM_PROXIES the address the
    outermost proxy saw): the schema's throttle and the admin login's lockout key on it alike."""
    return BaseThrottle().get_ident(request)  # type: ignore[arg-type]  # it reads only request.META
