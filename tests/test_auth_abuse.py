"""Hostile and malformed credentials: every one is a fast 401, none a 500, nothing fetched from them."""

import base64
import hashlib
import hmac
import json
import time
from http.server import BaseHTTPRequestHandler

import jwt
import pytest
from rest_framework.test import APIClient

from tests.conftest import BETTER_AUTH_URL, TEST_SECRET, USER_A, serve_on_loopback

LATER = int(time.time()) + 3600


def b64(data: bytes | str) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def signed(header: dict | str | bytes, payload: dict | str | bytes, key: str = TEST_SECRET) -> str:
    """HS256 over raw segments, so the corpus can hold JSON that no JWT library would produce."""
    encode = lambda part: b64(json.dumps(part) if isinstance(part, dict) else part)  # noqa: E731
    head, body = encode(header), encode(payload)
    signature = hmac.new(key.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(signature)}"


def claims(**extra) -> dict:
    now = int(time.time())
    return {"sub": USER_A, "iat": now, "exp": now + 600, **extra}


HS = {"alg": "HS256", "typ": "JWT"}
NESTED = '{"a":' * 600 + "1" + "}" * 600
NON_UTF8 = b'{"sub": "\xff\xfe", "exp": 9999999999}'
DUPLICATE_SUB = f'{{"sub": "user-b", "sub": "user-a", "exp": {LATER}}}'
DUPLICATE_ALG = '{"alg": "none", "alg": "HS256"}'
JSON_STRING = '"sub"'
EXP_NAN = '{"sub": "user-a", "exp": NaN}'
EXP_INFINITY = '{"sub": "user-a", "exp": Infinity}'
EXP_OVERFLOW = '{"sub": "user-a", "exp": 1e400}'
KID_NULL = "ed-1\x00"
KID_SQL = "' OR 1=1 --"


def build_corpus(plugin_token, signing_keys, attacker_url: str) -> list[tuple[str, str | bytes | None]]:
    """(name, Authorization header) pairs; None means no header at all."""
    attacker_key = {**signing_keys["EdDSA"].public_jwk, "kid": "attacker"}

    def signed_by_plugin_key(**headers) -> str:
        payload = claims(iss=BETTER_AUTH_URL, aud=BETTER_AUTH_URL)
        key = signing_keys["EdDSA"].private_key
        return "Bearer " + jwt.encode(payload, key, algorithm="EdDSA", headers={"kid": "attacker", **headers})

    another = signed(HS, claims(sub="user-b")).rsplit(".", 1)[1]
    now = int(time.time())  # the time edges are built right before they are sent
    return [
        ("empty-header", ""),
        ("scheme-only", "Bearer"),
        ("scheme-and-spaces", "Bearer    "),
        ("two-tokens", f"Bearer {signed(HS, claims())} {signed(HS, claims())}"),
        ("oversized-token", f"Bearer {signed(HS, claims(pad='x' * 9000))}"),
        ("oversized-garbage", "Bearer " + "a" * 100_000),
        ("non-ascii-token", "Bearer ëÿ.ÿë.ëÿ".encode("latin-1")),
        ("non-utf8-payload", "Bearer " + signed(HS, NON_UTF8)),
        ("one-segment", "Bearer abc"),
        ("two-segments", "Bearer abc.def"),
        ("four-segments", f"Bearer {signed(HS, claims())}.extra"),
        ("five-segments-jwe-shape", "Bearer a.b.c.d.e"),
        ("header-not-json", f"Bearer {b64('not json')}.{b64(json.dumps(claims()))}.sig"),
        ("header-json-array", f"Bearer {signed('[1, 2]', claims())}"),
        ("payload-json-array", f"Bearer {signed(HS, '[1, 2]')}"),
        ("payload-json-string", "Bearer " + signed(HS, JSON_STRING)),
        ("nested-json-bomb-header", f"Bearer {signed(NESTED, claims())}"),
        ("nested-json-bomb-payload", f"Bearer {signed(HS, NESTED)}"),
        ("duplicate-sub-claim", "Bearer " + signed(HS, DUPLICATE_SUB)),
        ("duplicate-alg-header", "Bearer " + signed(DUPLICATE_ALG, claims())),
        ("wrong-typ", f"Bearer {signed({**HS, 'typ': 'at+jwt'}, claims())}"),
        ("typ-jwe", f"Bearer {signed({**HS, 'typ': 'JWE'}, claims())}"),
        ("alg-none", f"Bearer {b64(json.dumps({'alg': 'none'}))}.{b64(json.dumps(claims()))}."),
        ("alg-None-capitalised", f"Bearer {b64(json.dumps({'alg': 'None'}))}.{b64(json.dumps(claims()))}."),
        ("alg-lowercase-hs256", f"Bearer {signed({'alg': 'hs256'}, claims())}"),
        ("alg-missing", f"Bearer {signed({'typ': 'JWT'}, claims())}"),
        ("alg-number", f"Bearer {signed({'alg': 256}, claims())}"),
        ("empty-signature", f"Bearer {signed(HS, claims()).rsplit('.', 1)[0]}."),
        ("signature-of-another-token", "Bearer " + signed(HS, claims()).rsplit(".", 1)[0] + "." + another),
        ("crit-unknown-extension", f"Bearer {signed({**HS, 'crit': ['exp-x'], 'exp-x': 1}, claims())}"),
        ("b64-false", f"Bearer {signed({**HS, 'b64': False, 'crit': ['b64']}, claims())}"),
        ("kid-path-traversal", f"Bearer {plugin_token('EdDSA', kid='../../../../etc/passwd')}"),
        ("kid-null-byte", "Bearer " + plugin_token("EdDSA", kid=KID_NULL)),
        ("kid-sql", "Bearer " + plugin_token("EdDSA", kid=KID_SQL)),
        ("kid-url", f"Bearer {plugin_token('EdDSA', kid=attacker_url)}"),
        ("kid-very-long", f"Bearer {plugin_token('EdDSA', kid='k' * 4000)}"),
        ("jku-elsewhere", signed_by_plugin_key(jku=attacker_url)),
        ("x5u-elsewhere", signed_by_plugin_key(x5u=attacker_url)),
        ("embedded-jwk", signed_by_plugin_key(jwk=attacker_key)),
        ("hs256-with-jwks-kid", f"Bearer {signed({**HS, 'kid': 'ed-1'}, claims(), key='wrong-key-' * 4)}"),
        ("exp-past-leeway", f"Bearer {signed(HS, claims(exp=now - 31))}"),
        ("exp-string", f"Bearer {signed(HS, claims(exp=str(now + 600)))}"),
        ("exp-nan", "Bearer " + signed(HS, EXP_NAN)),
        ("exp-infinity", "Bearer " + signed(HS, EXP_INFINITY)),
        ("exp-overflow", "Bearer " + signed(HS, EXP_OVERFLOW)),
        ("exp-null", f"Bearer {signed(HS, claims(exp=None))}"),
        ("nbf-beyond-leeway", f"Bearer {signed(HS, claims(nbf=now + 31 + 600))}"),
        ("iat-beyond-leeway", f"Bearer {signed(HS, claims(iat=now + 31 + 600))}"),
        ("iat-string", f"Bearer {signed(HS, claims(iat='yesterday'))}"),
        ("sub-object", f"Bearer {signed(HS, claims(sub={'id': USER_A}))}"),
        ("sub-list", f"Bearer {signed(HS, claims(sub=[USER_A]))}"),
        ("sub-bool", f"Bearer {signed(HS, claims(sub=True))}"),
        ("sub-empty", f"Bearer {signed(HS, claims(sub=''))}"),
        ("sub-too-long", f"Bearer {signed(HS, claims(sub='u' * 300))}"),
        ("plugin-token-wrong-issuer", f"Bearer {plugin_token('EdDSA', iss='https://attacker.example')}"),
        ("plugin-token-no-audience", f"Bearer {plugin_token('ES256', aud=None)}"),
    ]


@pytest.fixture
def attacker():
    """A server the tokens point to: nothing may ever fetch from it."""
    hits = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'{"keys": []}')

        def log_message(self, *args) -> None:
            pass

    with serve_on_loopback(Handler) as port:
        yield f"http://127.0.0.1:{port}/jwks", hits


@pytest.mark.django_db
def test_hostile_credentials_are_fast_401s_and_fetch_nothing(better_auth, plugin_token, signing_keys, attacker):
    attacker_url, hits = attacker
    corpus = build_corpus(plugin_token, signing_keys, attacker_url)
    client = APIClient()
    client.get("/api/user-a/tasks")  # warm up the URL resolver and the middleware
    assert len(corpus) >= 40

    outcomes = {}
    for name, header in corpus:
        headers = {"HTTP_AUTHORIZATION": header} if header is not None else {}
        timings = []
        for _ in range(3):  # the best of three: a busy machine can stall any one request, not all three
            started = time.perf_counter()
            response = client.get("/api/user-a/tasks", **headers)
            timings.append((time.perf_counter() - started) * 1000)
        outcomes[name] = (response.status_code, response["Content-Type"], min(timings))

    wrong = {name: outcome for name, outcome in outcomes.items() if outcome[:2] != (401, "application/json")}
    slow = {name: round(ms, 1) for name, (_, _, ms) in outcomes.items() if ms >= 10}
    assert wrong == {}
    assert slow == {}
    assert hits == []
    assert better_auth.fetches <= 1  # unknown kids refetch the real JWKS at most once a minute
