"""Better Auth JWT → request.user, without a database lookup, on djangorestframework-simplejwt.

simplejwt does the verifying: `BetterAuthJWTAuthentication` is its `JWTStatelessUserAuthentication`
(a `TokenUser` backed by the token, no query), each token is its `Token`, checked by its `TokenBackend`
(signature, `exp` required, `nbf`, `iat`, `iss`, `aud`, LEEWAY), configured by `SIMPLE_JWT` (settings.py,
from the same environment variables). The token's `alg` picks the backend:
- HS256 (SIMPLE_JWT's ALGORITHM) with SIGNING_KEY, the shared BETTER_AUTH_SECRET: tokens minted by the
  frontend, and Better Auth's own cookie-cache JWT;
- EdDSA, ES256, ES512, RS256, PS256 from Better Auth's `jwt` plugin: a backend holding the key of the
  token's `kid`, from our JWKS cache (fetched on first need, refetched on an unknown `kid` at most once a
  minute, retried 5 s after a failure). Not simplejwt's JWK_URL: its PyJWKClient waits 30 s for a fetch,
  refetches every 5 minutes, fetches again on every request while the JWKS is down and reports that as
  an invalid token (401), where we answer 503.
What we add around simplejwt: the checks before anything is decoded (size, repeated names, `typ`,
numeric times; keys only from the JWKS by `kid`, never from a token's `jku`, `x5u` or `jwk`), the user id
of the cookie-cache shape, `iss`/`aud` on HS256 tokens only when they carry them, and the error messages
and shapes the API always had.
"""

import base64
import json
import logging
import threading
import time
from datetime import timedelta
from functools import cache
from typing import Any, cast

import jwt
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.functional import cached_property
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework_simplejwt import settings as simplejwt_settings
from rest_framework_simplejwt.authentication import AUTH_HEADER_TYPE_BYTES, JWTStatelessUserAuthentication
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.models import TokenUser
from rest_framework_simplejwt.tokens import Token

JWKS_ALGORITHMS = frozenset({"EdDSA", "ES256", "ES512", "RS256", "PS256"})
COOKIE_CACHE_USER_ID_CLAIMS = ("user.id", "userId", "id")  # after SIMPLE_JWT's USER_ID_CLAIM (sub)
MAX_TOKEN_BYTES = 8192
MAX_USER_ID_LENGTH = 255  # what Task.user_id holds
JWKS_RETRY_SECONDS = 5
logger = logging.getLogger(__name__)
SCHEMES = {scheme.lower() for scheme in AUTH_HEADER_TYPE_BYTES}  # SIMPLE_JWT's AUTH_HEADER_TYPES, any case
# PyJWT's errors, found under simplejwt's TokenError, in the words the API has always used.
REASONS: list[tuple[type[Exception], str]] = [
    (jwt.ExpiredSignatureError, "Token has expired."),
    (jwt.ImmatureSignatureError, "Token is not valid yet."),
    (jwt.InvalidIssuerError, "Token issuer is not accepted."),
    (jwt.InvalidAudienceError, "Token audience is not accepted."),
    (jwt.InvalidSignatureError, "Token signature is invalid."),
]


class InvalidToken(Exception):
    """The token does not authenticate anyone; the message says why."""


class SigningKeysUnavailable(Exception):
    """The JWKS endpoint could not be reached or returned no usable keys."""


class BetterAuthToken(Token):
    """A Better Auth JWT, decoded and verified by simplejwt with the backend its `alg` picked."""

    token_type = "access"  # noqa: S105 - simplejwt requires one; never checked (TOKEN_TYPE_CLAIM is None)
    lifetime = timedelta(0)  # simplejwt requires one; used only to mint, which Better Auth does
    user_id: str

    def __init__(self, token: str, backend: TokenBackend) -> None:
        self._token_backend = backend
        super().__init__(token)  # type: ignore[arg-type]  # simplejwt types its encoded token as a Token

    def verify(self) -> None:
        super().verify()  # exp: present and not past (simplejwt requires it)
        self.user_id = user_id_from_claims(self.payload)


class BetterAuthUser(TokenUser):
    """simplejwt's stateless user; its id is the one the token names (`sub`, or the cookie-cache `user.id`)."""

    token: BetterAuthToken

    @cached_property
    def id(self) -> str:
        return self.token.user_id


class JwksKeyBackend(TokenBackend):
    """simplejwt's backend for one key of the JWKS: the key's own algorithm, SIMPLE_JWT's ISSUER and
    AUDIENCE required (the plugin sets both)."""

    def __init__(self, key: jwt.PyJWK) -> None:
        config = simplejwt_settings.api_settings
        super().__init__(key.algorithm_name, audience=config.AUDIENCE, issuer=config.ISSUER, leeway=config.LEEWAY)
        self.key = key

    def get_verifying_key(self, token: Any) -> jwt.PyJWK:
        return self.key  # a PyJWK: PyJWT refuses a token whose alg is not the key's


class JwksCache:
    """The keys of one JWKS endpoint by `kid` (as backends), refetched at most once per `min_refresh` seconds."""

    def __init__(self, url: str, *, timeout: float, min_refresh: float) -> None:
        self._client = jwt.PyJWKClient(url, cache_keys=False, cache_jwk_set=False, timeout=timeout)
        self._min_refresh = min_refresh
        self._keys: dict[str, JwksKeyBackend] = {}
        self._next_fetch_at = 0.0
        self._last_fetch_failed = False
        self._lock = threading.Lock()
        self.fetch_count = 0

    def get(self, kid: str) -> JwksKeyBackend | None:
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
        self._keys = {
            key.key_id: JwksKeyBackend(key)
            for key in jwk_set.keys
            if key.key_id and key.algorithm_name in JWKS_ALGORITHMS
        }
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


@cache
def shared_secret_backend() -> TokenBackend:
    """simplejwt's backend for SIMPLE_JWT's ALGORITHM (HS256) with its SIGNING_KEY and LEEWAY. Without its
    ISSUER and AUDIENCE, which simplejwt would require: Better Auth's HS256 tokens carry neither (they are
    checked when present, in validated_token)."""
    config = simplejwt_settings.api_settings
    return TokenBackend(config.ALGORITHM, config.SIGNING_KEY, leeway=config.LEEWAY)


@receiver(setting_changed)
def _forget_backends(*, setting: str, **kwargs: Any) -> None:
    """Settings change in tests; simplejwt's own `state.token_backend` would keep the old ones, ours do not."""
    if setting == "SIMPLE_JWT" or setting.startswith("BETTER_AUTH_"):
        shared_secret_backend.cache_clear()
        _jwks_caches.clear()


def user_id_from_claims(claims: dict[str, Any]) -> str:
    """SIMPLE_JWT's USER_ID_CLAIM (`sub`); without it `user.id` (the cookie-cache shape), then `userId`, `id`."""
    for name in (simplejwt_settings.api_settings.USER_ID_CLAIM, *COOKIE_CACHE_USER_ID_CLAIMS):
        value: Any = claims
        for part in name.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value).strip():
            if len(str(value)) > MAX_USER_ID_LENGTH:
                raise InvalidToken("Token user id is too long.")
            return str(value)
    raise InvalidToken("Token has no user id (sub, user.id, userId or id).")


def verify_token(token: str) -> BetterAuthUser:
    """Verify a Better Auth JWT and return its user; raise InvalidToken or SigningKeysUnavailable."""
    return cast(BetterAuthUser, simplejwt_settings.api_settings.TOKEN_USER_CLASS(validated_token(token)))


def validated_token(token: str) -> BetterAuthToken:
    """Our checks, then simplejwt's `Token` with the backend of the token's `alg`."""
    if len(token) > MAX_TOKEN_BYTES:
        raise InvalidToken("Token is too large.")
    header = _strict_header_and_payload(token)
    if str(header.get("typ", "JWT")).upper() != "JWT":
        raise InvalidToken("Token type (typ) is not accepted.")
    backend = _backend_for(header)
    try:
        verified = BetterAuthToken(token, backend)
    except TokenError as error:
        raise InvalidToken(_reason(error)) from None
    except (jwt.PyJWTError, ValueError, TypeError, OverflowError, RecursionError):
        raise InvalidToken("Token is invalid.") from None
    if not isinstance(backend, JwksKeyBackend):
        _check_optional_issuer_and_audience(verified.payload)
    return verified


def _strict_header_and_payload(token: str) -> dict[str, Any]:
    """The header, after checking that header and payload are JSON objects without repeated names
    (a repeated claim means two readers may disagree on who the token is for) and that the time
    claims are numbers."""

    def unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result = dict(pairs)
        if len(result) != len(pairs):
            raise InvalidToken("Token repeats a header field or claim.")
        return result

    parts = token.split(".")
    if len(parts) != 3:
        raise InvalidToken("Token is malformed.")
    try:
        header, payload = (
            json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)).decode(), object_pairs_hook=unique)
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


def _backend_for(header: dict[str, Any]) -> TokenBackend:
    """The shared secret's backend for SIMPLE_JWT's ALGORITHM; the backend of the `kid`'s key for the plugin's."""
    alg = header.get("alg")
    if not isinstance(alg, str):
        raise InvalidToken("Token is malformed.")
    if alg == simplejwt_settings.api_settings.ALGORITHM:
        return shared_secret_backend()
    if alg not in JWKS_ALGORITHMS:
        raise InvalidToken(f"Token algorithm {alg!r} is not accepted.")
    cache = jwks_cache()
    if cache is None:
        logger.warning("An asymmetric token was refused: no Better Auth JWKS is configured (BETTER_AUTH_URL).")
        raise InvalidToken("Token is invalid.")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise InvalidToken("Token has no key id (kid).")
    backend = cache.get(kid)
    if backend is None:
        raise InvalidToken("Token key id (kid) is unknown.")
    return backend


def _reason(error: TokenError) -> str:
    """Ours for PyJWT's error under simplejwt's (it chains it under a TokenBackendError), else simplejwt's."""
    cause = error.__cause__
    while cause is not None and not isinstance(cause, jwt.PyJWTError):
        cause = cause.__cause__
    if cause is None:
        return f"{error}."
    if isinstance(cause, jwt.MissingRequiredClaimError):
        return f"Token has no {cause.claim!r} claim."
    return next((reason for kind, reason in REASONS if isinstance(cause, kind)), "Token is invalid.")


def _check_optional_issuer_and_audience(claims: dict[str, Any]) -> None:
    """Shared-secret tokens need no iss/aud, but when they carry them they must be SIMPLE_JWT's."""
    issuer, audience = simplejwt_settings.api_settings.ISSUER, simplejwt_settings.api_settings.AUDIENCE
    if issuer and "iss" in claims and claims["iss"] != issuer:
        raise InvalidToken("Token issuer is not accepted.")
    if audience and "aud" in claims:
        token_audience = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if audience not in token_audience:
            raise InvalidToken("Token audience is not accepted.")


def mint_token(user_id: str, *, ttl: int = 3600, **claims: Any) -> str:
    """An HS256 token for `user_id`, signed by simplejwt's backend with BETTER_AUTH_SECRET (for curl and local
    frontends)."""
    now = int(time.time())
    return shared_secret_backend().encode({"sub": user_id, "iat": now, "exp": now + ttl, **claims})


class ServiceUnavailable(exceptions.APIException):
    status_code = 503
    default_detail = "Service temporarily unavailable, try again later."
    default_code = "service_unavailable"


class BetterAuthJWTAuthentication(JWTStatelessUserAuthentication):
    """`Authorization: Bearer <jwt>` issued by Better Auth: simplejwt's stateless authentication, with DRF's
    plain `{"detail": "..."}` errors (simplejwt's carry a code and a list of messages) and a 503 when the
    JWKS is unreachable."""

    def get_raw_token(self, header: bytes) -> bytes | None:
        parts = header.split()
        if not parts or parts[0].lower() not in SCHEMES:
            return None
        if len(parts) == 1:
            raise exceptions.AuthenticationFailed("Invalid Authorization header: no token provided.")
        if len(parts) > 2:
            raise exceptions.AuthenticationFailed("Invalid Authorization header: the token contains spaces.")
        return parts[1]

    def get_validated_token(self, raw_token: bytes) -> BetterAuthToken:
        try:
            token = raw_token.decode("ascii")
        except UnicodeError:
            raise exceptions.AuthenticationFailed("Token is malformed.") from None
        try:
            return validated_token(token)
        except InvalidToken as exc:
            raise exceptions.AuthenticationFailed(str(exc)) from None
        except SigningKeysUnavailable as exc:
            logger.warning("Better Auth's JWKS is unreachable: %s", exc)
            raise ServiceUnavailable("Cannot verify the token right now. Try again shortly.") from None

    def get_user(self, validated_token: Token) -> BetterAuthUser:  # type: ignore[override]
        """SIMPLE_JWT's TOKEN_USER_CLASS, without simplejwt's check for a `sub`: the cookie-cache token has
        none, and the token's own verify already found its user id."""
        return cast(BetterAuthUser, simplejwt_settings.api_settings.TOKEN_USER_CLASS(validated_token))


def caller_id(request: Request) -> str:
    """The authenticated caller's user id, i.e. `request.user.id`, typed: DRF's stubs type `request.user` as
    Django's User (an int id), but behind IsAuthenticated it is the BetterAuthUser of BetterAuthJWTAuthentication."""
    return cast(BetterAuthUser, request.user).id
