"""The kernel's token verifier: key rotation and its cache (pure logic; the real path over
gRPC and the identity service's JWKS is in tests/identity)."""

from __future__ import annotations

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey

from motcua.kernel.auth import REFRESH_INTERVAL, AuthError, KeysUnavailable, TokenVerifier
from motcua.kernel.config import AuthSettings

SETTINGS = AuthSettings(jwks_url="http://identity/jwks", issuer="http://identity", leeway=30)


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


class Jwks:
    """What the identity service publishes, and how often it was asked."""

    def __init__(self, *keys: ECKey) -> None:
        self.keys = list(keys)
        self.fetches = 0

    def __call__(self, url: str) -> dict:
        assert url == SETTINGS.jwks_url
        self.fetches += 1
        return {"keys": [{**k.as_dict(private=False), "kid": k.thumbprint()} for k in self.keys]}


def token(key: ECKey, now: float, ttl: int = 300, **claims) -> str:
    payload = {"iss": SETTINGS.issuer, "aud": "motcua", "sub": "u-1", "exp": int(now) + ttl, **claims}
    return jwt.encode({"alg": "ES256", "typ": "at+jwt", "kid": key.thumbprint()}, payload, key)


def test_claims_become_the_actor():
    key, clock = ECKey.generate_key("P-256"), Clock()
    verifier = TokenVerifier(SETTINGS, Jwks(key), clock)
    actor = verifier.actor(
        "Bearer " + token(key, clock.now, roles=["desk_officer", "leader"], agency_id="000.00.12.H56")
    )
    assert (actor.subject, actor.agency_id, actor.roles) == ("u-1", "000.00.12.H56", ("desk_officer", "leader"))
    assert actor.has_role("leader") and not actor.has_role("administrator")


def test_a_rotated_key_is_fetched_once_and_the_old_key_still_verifies():
    old, new, clock = ECKey.generate_key("P-256"), ECKey.generate_key("P-256"), Clock()
    jwks = Jwks(old)
    verifier = TokenVerifier(SETTINGS, jwks, clock)
    verifier.actor("Bearer " + token(old, clock.now))
    assert jwks.fetches == 1

    jwks.keys.append(new)  # identity rotates: the new key signs, the old one stays published
    clock.now += REFRESH_INTERVAL
    verifier.actor("Bearer " + token(new, clock.now))
    verifier.actor("Bearer " + token(old, clock.now, sub="u-2"))
    assert jwks.fetches == 2


def test_unknown_key_ids_do_not_make_the_verifier_hammer_identity():
    key, stranger, clock = ECKey.generate_key("P-256"), ECKey.generate_key("P-256"), Clock()
    jwks = Jwks(key)
    verifier = TokenVerifier(SETTINGS, jwks, clock)
    verifier.actor("Bearer " + token(key, clock.now))
    for i in range(5):
        with pytest.raises(AuthError) as failure:
            verifier.actor("Bearer " + token(stranger, clock.now, sub=f"x-{i}"))
        assert failure.value.reason == "TOKEN_INVALID"
    assert jwks.fetches == 1  # within REFRESH_INTERVAL of the first fetch


def test_a_remembered_token_still_expires():
    key, clock = ECKey.generate_key("P-256"), Clock()
    verifier = TokenVerifier(SETTINGS, Jwks(key), clock)
    value = "Bearer " + token(key, clock.now, ttl=60)
    verifier.actor(value)
    clock.now += 60 + SETTINGS.leeway  # still within the leeway
    verifier.actor(value)
    clock.now += 1
    with pytest.raises(AuthError) as failure:
        verifier.actor(value)
    assert failure.value.reason == "TOKEN_EXPIRED"


def test_keys_that_cannot_be_fetched_are_not_a_token_problem():
    def unreachable(url: str) -> dict:
        raise OSError("connection refused")

    key, clock = ECKey.generate_key("P-256"), Clock()
    with pytest.raises(KeysUnavailable):
        TokenVerifier(SETTINGS, unreachable, clock).actor("Bearer " + token(key, clock.now))


@pytest.mark.parametrize("scope, accepted", [
    ("openid api", True), ("api", True), ("openid profile", False), ("", False), (None, False), (["api"], False),
])
def test_an_oidc_clients_token_needs_the_api_scope(scope, accepted):
    key, clock = ECKey.generate_key("P-256"), Clock()
    verifier = TokenVerifier(SETTINGS, Jwks(key), clock)
    claims = {"client_id": "cong-dich-vu-cong", **({} if scope is None else {"scope": scope})}
    bearer = "Bearer " + token(key, clock.now, **claims)
    if accepted:
        assert verifier.actor(bearer).subject == "u-1"
    else:
        with pytest.raises(AuthError, match="`api` scope"):
            verifier.actor(bearer)
    # Tokens not issued to an OIDC client (identity's development tokens) are not scoped.
    assert verifier.actor("Bearer " + token(key, clock.now, sub="u-2")).subject == "u-2"
