"""The ID token check the sign-in callback makes (api.oidc.verify_id_token: Authlib's
parse_id_token against the real provider's discovery document and JWKS), with tokens crafted here:
signed with the providers' own key (which this session made) or with another one."""

from __future__ import annotations

import time

import pytest
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import RSAKey

from api.oidc import build_clients, verify_id_token
from countersign.domain.policy import load_policy

NONCE = "nonce-of-this-sign-in"

# The providers' process and its live server start once per test process: keep their tests in one.
pytestmark = pytest.mark.xdist_group("identity")


@pytest.fixture(scope="module")
def sony(providers):
    policy = load_policy(providers.policy_path)
    return build_clients(policy).create_client("sony"), policy.parties["sony"].oidc


def claims(providers, **changes) -> dict:
    now = int(time.time())
    return {
        "iss": providers.issuers["sony"],
        "sub": "alice",
        "aud": "countersign-sony",
        "iat": now,
        "exp": now + 300,
        "nonce": NONCE,
        "email": "alice@sony.example",
        **changes,
    }


def signed(body: dict, key: RSAKey) -> str:
    return jwt.encode({"alg": "RS256", "kid": key.kid}, body, key)


async def check(sony, token: str) -> dict:
    client, oidc = sony
    return await verify_id_token(client, oidc, token, NONCE, access_token="opaque-access-token")


async def test_a_token_the_issuer_signed_for_this_client_passes(providers, sony):
    verified = await check(sony, signed(claims(providers), providers.key))
    assert verified["sub"] == "alice" and verified["email"] == "alice@sony.example"


async def test_a_bad_signature_is_refused(providers, sony):
    # Same key id, another key: only the signature can tell.
    impostor = RSAKey.generate_key(2048, parameters={"kid": providers.key.kid}, private=True)
    with pytest.raises(JoseError):
        await check(sony, signed(claims(providers), impostor))
    token = signed(claims(providers), providers.key)
    head, _, signature = token.split(".")
    tampered_body = signed(claims(providers, sub="mallory"), providers.key).split(".")[1]
    with pytest.raises(JoseError):
        await check(sony, f"{head}.{tampered_body}.{signature}")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"aud": "countersign-universal"}, "InvalidClaimError"),  # issued to another organisation's client
        # ... naming this client as its authorized party: Authlib alone would let it through (api.oidc)
        ({"aud": "countersign-universal", "azp": "countersign-sony"}, "InvalidClaimError"),
        ({"aud": ["countersign-universal", "someone-else"]}, "InvalidClaimError"),
        (
            {"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200},
            "ExpiredTokenError",
        ),  # beyond the leeway
        ({"nonce": "the-nonce-of-another-sign-in"}, "InvalidClaimError"),
        (
            {"iat": int(time.time()) + 3600, "exp": int(time.time()) + 7200},
            "InvalidClaimError",
        ),  # from the future
    ],
    ids=[
        "wrong-audience",
        "wrong-audience-with-azp",
        "audiences-without-this-client",
        "expired",
        "wrong-nonce",
        "issued-in-the-future",
    ],
)
async def test_claims_not_for_this_sign_in_are_refused(providers, sony, change, expected):
    with pytest.raises(JoseError) as refused:
        await check(sony, signed(claims(providers, **change), providers.key))
    assert type(refused.value).__name__ in expected


async def test_another_issuer_is_refused_even_with_a_key_the_jwks_holds(providers, sony):
    # Both test providers sign with one key: the issuer check alone stops Universal's tokens here.
    with pytest.raises(JoseError):
        await check(sony, signed(claims(providers, iss=providers.issuers["universal"]), providers.key))


@pytest.mark.filterwarnings("ignore:JWS algorithm \"none\" is deprecated")  # crafting it is the point
async def test_an_unsigned_token_is_refused(providers, sony):
    unsigned = jwt.encode({"alg": "none"}, claims(providers), None, algorithms=["none"])
    with pytest.raises(JoseError):
        await check(sony, unsigned)


async def test_a_token_without_a_required_claim_is_refused(providers, sony):
    body = claims(providers)
    del body["exp"]
    with pytest.raises(JoseError):
        await check(sony, signed(body, providers.key))
