"""Better Auth JWT → request.user, without a database lookup.

Two key families are accepted, chosen by the token's `alg`:
- HS256, signed with the shared BETTER_AUTH_SECRET (tokens minted by the frontend, and Better
  Auth's own cookie-cache JWT);
- EdDSA, ES256, ES512, RS256, PS256 from Better Auth's `jwt` plugin, verified with the key of the
  token's `kid` from the JWKS (fetched on first need, cached, refetched on an unknown `kid` at
  most once a minute).
"""

import base64
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import jwt
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

if TYPE_CHECKING:
    from jwt.types import Options

HMAC_ALGORITHMS = frozenset({"HS256"})
JWKS_ALGORITHMS = frozenset({"EdDSA", "ES256", "ES512", "RS256", "PS256"})
USER_ID_CLAIMS = ("sub", "user.id", "userId", "id")
MAX_TOKEN_BYTES = 8192
MAX_USER_ID_LENGTH = 255  # what Task.user_id holds
JWKS_RETRY_SECONDS = 5
logger = logging.getLogger(__name__)


class InvalidToken(Exception):
    """The token does not authenticate anyone; the message says why."""


class SigningKeysUnavailable(Exception):
    """The JWKS endpoint could not be reached or returned no usable keys."""


@dataclass(frozen=True)
class TokenUser:
    """The authenticated caller: a Better Auth user id (a string) and the verified claims."""

    id: str
    claims: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    is_authenticated = True
    is_anonymous = False

    @property
    def pk(self) -> str:
        return self.id

    def __str__(self) -> str:
        return self.id


class JwksCache:
    """The keys of one JWKS endpoint by `kid`, refetched at most once per `min_refresh` seconds."""

    def __init__(self, url: str, *, timeout: float, min_refresh: float) -> None:
        self._client = jwt.PyJWKClient(url, cache_keys=False, cache_jwk_set=False, timeout=timeout)
        self._min_refresh = min_refresh
        self._keys: dict[str, jwt.PyJWK] = {}
        self._next_fetch_at = 0.0
        self._last_fetch_failed = False
        self._lock = threading.Lock()
        self.fetch_count = 0

    def get(self, kid: str) -> jwt.PyJWK | None:
        key = self._keys.get(kid)
        if key is not None:
            return key
        with self._lock:
            if kid not in self._keys and time.monotonic() >= self._next_fetch_at:
                self._fetch()
            elif self._last_fetch_failed and kid not in self._keys:
                raise SigningKeysUnavailable("the last fetch failed; retrying shortly")
            return self._keys.get(kid)

    def ready(self) -> bool:
        """Whether keys are at hand: cached, or fetched now (within the retry pause of a failure)."""
        if self._keys:
            return True
        with self._lock:
            if not self._keys and time.monotonic() >= self._next_fetch_at:
                try:
                    self._fetch()
                except SigningKeysUnavailable:
                    return False
            return bool(self._keys)

    def _fetch(self) -> None:
        self.fetch_count += 1
        try:
            jwk_set = self._client.get_jwk_set()
        except jwt.PyJWTError as exc:
            self._last_fetch_failed = True
            self._next_fetch_at = time.monotonic() + JWKS_RETRY_SECONDS
            raise SigningKeysUnavailable(str(exc)) from exc
        self._keys = {key.key_id: key for key in jwk_set.keys if key.key_id}
        self._last_fetch_failed = False
        self._next_fetch_at = time.monotonic() + self._min_refresh


_jwks_caches: dict[str, JwksCache] = {}
_jwks_caches_lock = threading.Lock()


def jwks_cache() -> JwksCache | None:
    url = settings.BETTER_AUTH_JWKS_URL
    if not url:
        return None
    with _jwks_caches_lock:
        if url not in _jwks_caches:
            _jwks_caches[url] = JwksCache(
                url,
                timeout=settings.BETTER_AUTH_JWKS_TIMEOUT,
                min_refresh=settings.BETTER_AUTH_JWKS_MIN_REFRESH_SECONDS,
            )
        return _jwks_caches[url]


@receiver(setting_changed)
def _forget_jwks_caches(*, setting: str, **kwargs: Any) -> None:
    if setting.startswith("BETTER_AUTH_"):
        _jwks_caches.clear()


def user_id_from_claims(claims: dict[str, Any]) -> str:
    """`sub`; without it `user.id` (the cookie-cache shape), then `userId`, then `id`."""
    for name in USER_ID_CLAIMS:
        value: Any = claims
        for part in name.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value).strip():
            if len(str(value)) > MAX_USER_ID_LENGTH:
                raise InvalidToken("Token user id is too long.")
            return str(value)
    raise InvalidToken("Token has no user id (sub, user.id, userId or id).")


def verify_token(token: str) -> TokenUser:
    """Verify a Better Auth JWT and return its user; raise InvalidToken or SigningKeysUnavailable."""
    if len(token) > MAX_TOKEN_BYTES:
        raise InvalidToken("Token is too large.")
    header = _strict_header_and_payload(token)
    alg = header.get("alg")
    if not isinstance(alg, str):
        raise InvalidToken("Token is malformed.")
    if str(header.get("typ", "JWT")).upper() != "JWT":
        raise InvalidToken("Token type (typ) is not accepted.")
    options: Options = {"require": ["exp"], "verify_aud": False}
    try:
        if alg in HMAC_ALGORITHMS:
            claims = jwt.decode(
                token,
                settings.BETTER_AUTH_SECRET,
                algorithms=[alg],
                leeway=settings.JWT_LEEWAY_SECONDS,
                options=options,
            )
            _check_optional_issuer_and_audience(claims)
        elif alg in JWKS_ALGORITHMS:
            claims = jwt.decode(
                token,
                _jwks_key(header.get("kid")),
                algorithms=[alg],
                leeway=settings.JWT_LEEWAY_SECONDS,
                issuer=settings.BETTER_AUTH_ISSUER or None,
                audience=settings.BETTER_AUTH_AUDIENCE or None,
                options={**options, "verify_aud": bool(settings.BETTER_AUTH_AUDIENCE)},
            )
        else:
            raise InvalidToken(f"Token algorithm {alg!r} is not accepted.")
    except jwt.ExpiredSignatureError:
        raise InvalidToken("Token has expired.") from None
    except jwt.ImmatureSignatureError:
        raise InvalidToken("Token is not valid yet.") from None
    except jwt.InvalidIssuerError:
        raise InvalidToken("Token issuer is not accepted.") from None
    except jwt.InvalidAudienceError:
        raise InvalidToken("Token audience is not accepted.") from None
    except jwt.MissingRequiredClaimError as exc:
        raise InvalidToken(f"Token has no {exc.claim!r} claim.") from None
    except jwt.InvalidSignatureError:
        raise InvalidToken("Token signature is invalid.") from None
    except (jwt.PyJWTError, ValueError, TypeError, RecursionError):
        raise InvalidToken("Token is invalid.") from None
    return TokenUser(id=user_id_from_claims(claims), claims=claims)


def _strict_header_and_payload(token: str) -> dict[str, Any]:
    """The header, after checking that header and payload are JSON objects without repeated names
    (a repeated claim means two readers may disagree on who the token is for) and that the time
    claims are numbers."""

    def unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        names = [name for name, _ in pairs]
        if len(names) != len(set(names)):
            raise InvalidToken("Token repeats a header field or claim.")
        return dict(pairs)

    parts = token.split(".")
    if len(parts) != 3:
        raise InvalidToken("Token is malformed.")
    try:
        header, payload = (
            json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)), object_pairs_hook=unique)
            for part in parts[:2]
        )
    except (ValueError, TypeError, RecursionError):
        raise InvalidToken("Token is malformed.") from None
    if not isinstance(header, dict) or not isinstance(payload, dict):
        raise InvalidToken("Token is malformed.")
    for name in ("exp", "nbf", "iat"):  # NumericDate: a JSON number, not "1700000000"
        if name in payload and (isinstance(payload[name], bool) or not isinstance(payload[name], (int, float))):
            raise InvalidToken(f"Token {name} claim must be a number.")
    return header


def _jwks_key(kid: Any) -> jwt.PyJWK:
    cache = jwks_cache()
    if cache is None:
        logger.warning("An asymmetric token was refused: no Better Auth JWKS is configured (BETTER_AUTH_URL).")
        raise InvalidToken("Token is invalid.")
    if not isinstance(kid, str) or not kid:
        raise InvalidToken("Token has no key id (kid).")
    key = cache.get(kid)
    if key is None:
        raise InvalidToken("Token key id (kid) is unknown.")
    return key


def _check_optional_issuer_and_audience(claims: dict[str, Any]) -> None:
    """Shared-secret tokens need no iss/aud, but when they carry them they must match."""
    issuer, audience = settings.BETTER_AUTH_ISSUER, settings.BETTER_AUTH_AUDIENCE
    if issuer and "iss" in claims and claims["iss"] != issuer:
        raise InvalidToken("Token issuer is not accepted.")
    if audience and "aud" in claims:
        token_audience = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if audience not in token_audience:
            raise InvalidToken("Token audience is not accepted.")


def mint_token(user_id: str, *, ttl: int = 3600, **claims: Any) -> str:
    """An HS256 token for `user_id`, signed with BETTER_AUTH_SECRET (for curl and local frontends)."""
    now = int(time.time())
    payload = {"sub": user_id, "iat": now, "exp": now + ttl, **claims}
    return jwt.encode(payload, settings.BETTER_AUTH_SECRET, algorithm="HS256")


class ServiceUnavailable(exceptions.APIException):
    status_code = 503
    default_detail = "Service temporarily unavailable, try again later."
    default_code = "service_unavailable"


class BetterAuthJWTAuthentication(BaseAuthentication):
    """`Authorization: Bearer <jwt>` issued by Better Auth."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[TokenUser, str] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None
        if len(parts) == 1:
            raise exceptions.AuthenticationFailed("Invalid Authorization header: no token provided.")
        if len(parts) > 2:
            raise exceptions.AuthenticationFailed("Invalid Authorization header: the token contains spaces.")
        try:
            token = parts[1].decode("ascii")
        except UnicodeError:
            raise exceptions.AuthenticationFailed("Token is malformed.") from None
        try:
            return verify_token(token), token
        except InvalidToken as exc:
            raise exceptions.AuthenticationFailed(str(exc)) from None
        except SigningKeysUnavailable as exc:
            logger.warning("Better Auth's JWKS is unreachable: %s", exc)
            raise ServiceUnavailable("Cannot verify the token right now. Try again shortly.") from None

    def authenticate_header(self, request: Request) -> str:
        return f'{self.keyword} realm="api"'


def caller_id(request: Request) -> str:
    """The authenticated caller's user id, i.e. `request.user.id`, typed: DRF's stubs type `request.user` as
    Django's User (an int id), but behind IsAuthenticated it is the TokenUser of BetterAuthJWTAuthentication."""
    return cast(TokenUser, request.user).id
