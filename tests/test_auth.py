"""The contract's Authentication section, through the HTTP stack and on the verification function."""

import base64
import json
import threading
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from rest_framework.test import APIClient, APIRequestFactory
from rest_framework_simplejwt.authentication import JWTStatelessUserAuthentication
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.models import TokenUser
from rest_framework_simplejwt.tokens import Token

from tests.conftest import BETTER_AUTH_URL, TEST_SECRET, USER_A
from todo_project import auth

ROUTES = [
    ("get", "/api/user-a/tasks"),
    ("post", "/api/user-a/tasks"),
    ("get", "/api/user-a/tasks/1"),
    ("put", "/api/user-a/tasks/1"),
    ("patch", "/api/user-a/tasks/1"),
    ("delete", "/api/user-a/tasks/1"),
    ("patch", "/api/user-a/tasks/1/complete"),
]


@pytest.fixture
def tokens(make_token, plugin_token, signing_keys, better_auth) -> SimpleNamespace:
    return SimpleNamespace(make=make_token, plugin=plugin_token, keys=signing_keys)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}."


def _public_pem(tokens: SimpleNamespace) -> bytes:
    return (
        tokens.keys["RS256"]
        .private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def _hs256_with_public_key(tokens: SimpleNamespace) -> str:
    """The classic confusion attack: HMAC keyed with the server's public key."""
    import hashlib
    import hmac

    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "rs-1"}).encode())
    now = int(time.time())
    payload = _b64(json.dumps({"sub": USER_A, "iat": now, "exp": now + 300}).encode())
    signature = hmac.new(_public_pem(tokens), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


NOW = int(time.time())
BAD_AUTHORIZATION: list[tuple[str, Callable[[SimpleNamespace], str | None]]] = [
    ("missing-header", lambda t: None),
    ("wrong-scheme", lambda t: f"Basic {t.make()}"),
    ("bearer-without-token", lambda t: "Bearer"),
    ("token-with-spaces", lambda t: f"Bearer {t.make()} extra"),
    ("garbage", lambda t: "Bearer not-a-jwt"),
    ("three-garbage-segments", lambda t: "Bearer aaa.bbb.ccc"),
    ("expired", lambda t: f"Bearer {t.make(ttl=-120)}"),
    ("no-exp", lambda t: f"Bearer {t.make(exp=None)}"),
    ("future-nbf", lambda t: f"Bearer {t.make(nbf=int(time.time()) + 600)}"),
    ("future-iat", lambda t: f"Bearer {t.make(iat=int(time.time()) + 600)}"),
    ("bad-signature", lambda t: f"Bearer {t.make(key='another-secret-that-is-long-enough-000000')}"),
    ("alg-none", lambda t: "Bearer " + _unsigned({"alg": "none"}, {"sub": USER_A, "exp": NOW + 3600})),
    ("hs256-signed-with-public-key", lambda t: f"Bearer {_hs256_with_public_key(t)}"),
    ("hs384-not-accepted", lambda t: f"Bearer {t.make(alg='HS384')}"),
    ("unknown-kid", lambda t: f"Bearer {t.plugin('EdDSA', kid='no-such-key')}"),
    (
        "no-kid",
        lambda t: (
            f"Bearer {t.make(key=t.keys['EdDSA'].private_key, alg='EdDSA', iss=BETTER_AUTH_URL, aud=BETTER_AUTH_URL)}"
        ),
    ),
    ("key-type-mismatch", lambda t: f"Bearer {t.plugin('EdDSA', kid='es-1')}"),
    ("no-user-id-claim", lambda t: f"Bearer {t.make(user_id=None)}"),
    ("blank-sub", lambda t: f"Bearer {t.make(user_id='  ')}"),
    ("plugin-wrong-issuer", lambda t: f"Bearer {t.plugin('EdDSA', iss='https://evil.example')}"),
    ("plugin-wrong-audience", lambda t: f"Bearer {t.plugin('EdDSA', aud='https://evil.example')}"),
    ("plugin-no-audience", lambda t: f"Bearer {t.plugin('EdDSA', aud=None)}"),
    ("plugin-expired", lambda t: f"Bearer {t.plugin('ES256', ttl=-120)}"),
    ("hs256-wrong-audience", lambda t: f"Bearer {t.make(aud='https://evil.example')}"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path"), ROUTES, ids=[f"{m}:{p}" for m, p in ROUTES])
@pytest.mark.parametrize(("case", "authorization"), BAD_AUTHORIZATION, ids=[c for c, _ in BAD_AUTHORIZATION])
def test_bad_credentials_are_401_with_www_authenticate_on_every_route(tokens, method, path, case, authorization):
    client = APIClient()
    header = authorization(tokens)
    if header is not None:
        client.credentials(HTTP_AUTHORIZATION=header)

    response = getattr(client, method)(path, {"title": "x"}, format="json")

    assert response.status_code == 401, response.content
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response["Content-Type"] == "application/json"
    assert isinstance(response.json()["detail"], str)


GOOD_TOKENS: list[tuple[str, Callable[[SimpleNamespace], str]]] = [
    ("hs256-sub", lambda t: t.make()),
    ("hs256-within-leeway", lambda t: t.make(ttl=-10)),
    (
        "cookie-cache-shape",
        lambda t: t.make(
            user_id=None,
            session={"id": "s1", "userId": USER_A, "expiresAt": "2030-01-01T00:00:00.000Z"},
            user={"id": USER_A, "email": "a@example.com", "name": "A"},
        ),
    ),
    ("userId-claim", lambda t: t.make(user_id=None, userId=USER_A)),
    ("id-claim", lambda t: t.make(user_id=None, id=USER_A)),
    ("hs256-right-audience", lambda t: t.make(aud=BETTER_AUTH_URL, iss=BETTER_AUTH_URL)),
    ("plugin-eddsa", lambda t: t.plugin("EdDSA")),
    ("plugin-es256", lambda t: t.plugin("ES256")),
    ("plugin-es512", lambda t: t.plugin("ES512")),
    ("plugin-rs256", lambda t: t.plugin("RS256")),
    ("plugin-ps256", lambda t: t.plugin("PS256")),
    ("plugin-audience-list", lambda t: t.plugin("EdDSA", aud=[BETTER_AUTH_URL, "other"])),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("case", "token"), GOOD_TOKENS, ids=[c for c, _ in GOOD_TOKENS])
def test_accepted_tokens_authenticate_as_their_user(tokens, case, token):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token(tokens)}")

    assert client.get("/api/user-a/tasks").status_code == 200
    assert client.get("/api/user-b/tasks").status_code == 403


def test_sub_wins_over_the_other_user_id_claims():
    claims = {"sub": "s", "user": {"id": "u"}, "userId": "x", "id": "i"}
    assert auth.user_id_from_claims(claims) == "s"
    assert auth.user_id_from_claims({"user": {"id": "u"}, "userId": "x"}) == "u"
    assert auth.user_id_from_claims({"userId": "x", "id": "i"}) == "x"
    assert auth.user_id_from_claims({"id": 42}) == "42"
    with pytest.raises(auth.InvalidToken):
        auth.user_id_from_claims({"user": "not-an-object", "id": True})


@pytest.mark.django_db
def test_verify_token_needs_no_database(make_token, django_assert_num_queries):
    with django_assert_num_queries(0):
        user = auth.verify_token(make_token("someone"))
    assert user.id == "someone"
    assert user.is_authenticated


def test_asymmetric_token_without_a_configured_jwks_is_refused(plugin_token, caplog):
    with pytest.raises(auth.InvalidToken, match=r"^Token is invalid\.$"):  # the configuration is for the log
        auth.verify_token(plugin_token("EdDSA"))
    assert "no Better Auth JWKS is configured" in caplog.text


def test_oversized_token_is_refused_before_parsing(make_token):
    with pytest.raises(auth.InvalidToken, match="too large"):
        auth.verify_token(make_token(padding="x" * 10_000))


# --- JWKS: fetched once, refetched on an unknown kid at most once a minute, failures are 503 ---


def test_jwks_is_fetched_once_for_many_tokens(better_auth, plugin_token):
    for alg in ["EdDSA", "ES256", "ES512", "RS256", "PS256"] * 5:
        assert auth.verify_token(plugin_token(alg)).id == USER_A
    assert better_auth.fetches == 1


def test_unknown_kid_refetches_at_most_once_a_minute(better_auth, plugin_token, signing_keys, monkeypatch):
    auth.verify_token(plugin_token("EdDSA"))
    for _ in range(5):
        with pytest.raises(auth.InvalidToken, match="unknown"):
            auth.verify_token(plugin_token("EdDSA", kid="rotated"))
    assert better_auth.fetches == 1

    # A minute later the new key has been published: one refetch finds it.
    rotated = {**signing_keys["EdDSA"].public_jwk, "kid": "rotated"}
    better_auth.keys.append(rotated)
    later = time.monotonic() + 61
    monkeypatch.setattr(auth.time, "monotonic", lambda: later)
    assert auth.verify_token(plugin_token("EdDSA", kid="rotated")).id == USER_A
    assert better_auth.fetches == 2


@pytest.mark.django_db
@pytest.mark.parametrize("failure", ["http-500", "connection-refused", "not-json-keys"])
def test_unreachable_jwks_on_cold_start_is_a_503_not_a_500(better_auth, plugin_token, settings, failure):
    if failure == "http-500":
        better_auth.status = 500
    elif failure == "connection-refused":
        settings.BETTER_AUTH_JWKS_URL = "http://127.0.0.1:9/api/auth/jwks"
    else:
        better_auth.keys = []
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plugin_token('EdDSA')}")

    response = client.get("/api/user-a/tasks")

    assert response.status_code == 503
    assert response.json() == {"detail": "Cannot verify the token right now. Try again shortly."}


@pytest.mark.django_db
def test_slow_jwks_fails_fast(better_auth, plugin_token, settings):
    settings.BETTER_AUTH_JWKS_TIMEOUT = 0.3
    better_auth.delay = 2
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plugin_token('EdDSA')}")

    started = time.monotonic()
    response = client.get("/api/user-a/tasks")

    assert response.status_code == 503
    assert time.monotonic() - started < 1.5


@pytest.mark.django_db
def test_cached_keys_keep_working_when_jwks_goes_down(better_auth, plugin_token):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plugin_token('EdDSA')}")
    assert client.get("/api/user-a/tasks").status_code == 200

    better_auth.status = 500
    assert client.get("/api/user-a/tasks").status_code == 200
    assert better_auth.fetches == 1


def test_failed_fetch_is_retried_after_a_short_pause(better_auth, plugin_token, monkeypatch):
    better_auth.status = 500
    with pytest.raises(auth.SigningKeysUnavailable):
        auth.verify_token(plugin_token("EdDSA"))
    with pytest.raises(auth.SigningKeysUnavailable):
        auth.verify_token(plugin_token("EdDSA"))
    assert better_auth.fetches == 1

    better_auth.status = 200
    later = time.monotonic() + auth.JWKS_RETRY_SECONDS + 1
    monkeypatch.setattr(auth.time, "monotonic", lambda: later)
    assert auth.verify_token(plugin_token("EdDSA")).id == USER_A
    assert better_auth.fetches == 2


def test_mint_token_round_trips(settings):
    token = auth.mint_token("minted", ttl=60)
    claims = jwt.decode(token, TEST_SECRET, algorithms=["HS256"])
    assert claims["sub"] == "minted"
    assert claims["exp"] - claims["iat"] == 60
    assert auth.verify_token(token).id == "minted"


@pytest.mark.django_db(transaction=True)
def test_many_requests_during_a_slow_jwks_outage_fail_fast_and_fetch_little(better_auth, plugin_token, settings):
    """A slow or dead JWKS must not tie up the worker threads: one bounded fetch, then quick 503s."""
    settings.BETTER_AUTH_JWKS_TIMEOUT = 0.3
    better_auth.delay = 2
    token = plugin_token("EdDSA")
    statuses, durations = [], []
    APIClient().get("/api/user-a/tasks")  # warm up: the first request imports the views (not what is timed)

    def request() -> None:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        started = time.monotonic()
        statuses.append(client.get("/api/user-a/tasks").status_code)
        durations.append(time.monotonic() - started)

    threads = [threading.Thread(target=request) for _ in range(16)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    total = time.monotonic() - started
    unknown_kids = [plugin_token("EdDSA", kid=f"random-{n}") for n in range(50)]  # a flood of made-up kids
    for forged in unknown_kids:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {forged}")
        assert client.get("/api/user-a/tasks").status_code in {401, 503}

    assert statuses == [503] * 16
    assert max(durations) < 1.5, durations
    assert total < 2.5
    assert better_auth.fetches <= 2  # not one per request or per forged kid


# --- simplejwt underneath: its classes verify, SIMPLE_JWT configures them, our errors stay ---


@pytest.mark.parametrize("token", ["hs256", "cookie-cache", "plugin"])
def test_simplejwt_authenticates_every_kind_of_token(tokens, token):
    raw = {
        "hs256": tokens.make(),
        "cookie-cache": tokens.make(user_id=None, session={"userId": USER_A}, user={"id": USER_A}),
        "plugin": tokens.plugin("EdDSA"),
    }[token]
    request = APIRequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {raw}")

    user, validated = auth.BetterAuthJWTAuthentication().authenticate(request)

    assert isinstance(auth.BetterAuthJWTAuthentication(), JWTStatelessUserAuthentication)
    assert isinstance(user, TokenUser)
    assert isinstance(validated, Token)
    assert isinstance(validated.token_backend, TokenBackend)
    assert validated.token_backend.algorithm == ("EdDSA" if token == "plugin" else "HS256")
    assert (user.id, user.is_authenticated) == (USER_A, True)


def test_the_shared_secret_and_leeway_are_simple_jwts(make_token, settings):
    token = make_token(ttl=-10)  # expired 10 s ago: within the leeway of 30 s
    assert auth.verify_token(token).id == USER_A

    settings.SIMPLE_JWT = {**settings.SIMPLE_JWT, "LEEWAY": 0}
    with pytest.raises(auth.InvalidToken, match="expired"):
        auth.verify_token(token)

    settings.SIMPLE_JWT = {**settings.SIMPLE_JWT, "SIGNING_KEY": "another-secret-that-is-long-enough-000000"}
    with pytest.raises(auth.InvalidToken, match="signature"):
        auth.verify_token(make_token())
    assert auth.verify_token(make_token(key="another-secret-that-is-long-enough-000000")).id == USER_A
    minted = auth.mint_token("minted")
    assert jwt.decode(minted, settings.SIMPLE_JWT["SIGNING_KEY"], algorithms=["HS256"])["sub"] == "minted"


@pytest.mark.django_db
@pytest.mark.parametrize("scheme", ["bearer", "BEARER"])
def test_the_scheme_is_matched_in_any_case(make_token, scheme):
    """simplejwt's own header parsing would match "Bearer" only."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"{scheme} {make_token()}")

    assert client.get("/api/user-a/tasks").status_code == 200


REASONS = [
    ("expired", lambda t: t.make(ttl=-120), "Token has expired."),
    ("no-exp", lambda t: t.make(exp=None), "Token has no 'exp' claim."),
    ("future-nbf", lambda t: t.make(nbf=int(time.time()) + 600), "Token is not valid yet."),
    ("bad-signature", lambda t: t.make(key="another-secret-that-is-long-enough-000000"), "Token signature is invalid."),
    ("exp-beyond-year-9999", lambda t: t.make(exp=10**12), "Token is invalid."),  # simplejwt makes it a datetime
    ("hs256-wrong-issuer", lambda t: t.make(iss="https://evil.example"), "Token issuer is not accepted."),
    ("plugin-wrong-issuer", lambda t: t.plugin("EdDSA", iss="https://evil.example"), "Token issuer is not accepted."),
    ("plugin-no-audience", lambda t: t.plugin("EdDSA", aud=None), "Token has no 'aud' claim."),
    ("plugin-alg-not-the-keys", lambda t: t.plugin("EdDSA", kid="es-1"), "Token is invalid."),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("case", "token", "reason"), REASONS, ids=[case for case, _, _ in REASONS])
def test_a_refused_token_is_a_401_with_the_contracts_body_and_a_reason(tokens, case, token, reason):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token(tokens)}")

    response = client.get("/api/user-a/tasks")

    assert response.status_code == 401
    assert response.json() == {"detail": reason}  # DRF's shape, not simplejwt's (code, messages)
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
