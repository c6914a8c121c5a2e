"""Bearer-token authentication: who is calling, from a JWT the identity service signed.

Every service trusts the same tokens: ES256-signed JWTs whose keys the identity service
publishes as a JWKS. The verifier checks the signature, issuer, audience and expiry, and
turns the claims into an ``Actor``. Keys are fetched once and again only when a token names
a key id not seen yet (key rotation), at most every ``REFRESH_INTERVAL`` seconds.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Callable
from typing import Any

from joserfc import jwt
from joserfc.errors import ExpiredTokenError, InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet, KeySetSerialization

from .config import AuthSettings
from .context import Actor, Grant

ALGORITHMS = ["ES256"]  # never "none", never a symmetric one: services only hold public keys
REFRESH_INTERVAL = 10.0  # seconds between JWKS fetches triggered by unknown key ids
CACHE_SIZE = 10_000  # verified tokens remembered, so a client's repeated calls cost a lookup
# The scope an OIDC client's access token (RFC 9068: it names its `client_id`) must carry for
# the services' API; a client registered without it gets tokens for login and userinfo only.
API_SCOPE = "api"


class AuthError(Exception):
    """The call carries no acceptable token; ``reason`` is machine-readable (TOKEN_EXPIRED…)."""

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        super().__init__(message)


class KeysUnavailable(Exception):
    """The identity service's keys cannot be fetched: no token can be judged right now."""


def fetch_jwks(url: str, timeout: float = 3.0) -> KeySetSerialization:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # an in-cluster address
    with opener.open(url, timeout=timeout) as response:
        document: KeySetSerialization = json.load(response)
        return document


class TokenVerifier:
    def __init__(self, settings: AuthSettings, fetch: Callable[[str], KeySetSerialization] = fetch_jwks,
                 clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self._fetch = fetch
        self._clock = clock
        self._keys: KeySet | None = None
        self._fetched_at = float("-inf")
        self._lock = threading.Lock()
        self._verified: dict[str, tuple[Actor, int]] = {}
        self._claims = jwt.JWTClaimsRegistry(
            now=lambda: int(self._clock()),
            leeway=settings.leeway,
            iss={"essential": True, "value": settings.issuer},
            aud={"essential": True, "value": settings.audience},
            exp={"essential": True},
            sub={"essential": True},
        )

    def actor(self, authorization: str | None) -> Actor:
        """The caller named by an ``Authorization: Bearer <jwt>`` value; AuthError otherwise."""
        token = _bearer(authorization)
        cached = self._verified.get(token)
        if cached is not None:
            actor, expires = cached
            if self._clock() <= expires + self.settings.leeway:
                return actor
            raise AuthError("TOKEN_EXPIRED", "the token has expired")
        claims = self._verify(token)
        actor = Actor(
            subject=str(claims["sub"]),
            agency_id=str(claims.get("agency_id", "")),
            roles=tuple(str(r) for r in claims.get("roles", ()) if isinstance(r, str)),
            grants=_grants(claims),
        )
        if len(self._verified) >= CACHE_SIZE:
            self._verified.clear()
        self._verified[token] = (actor, int(claims["exp"]))
        return actor

    def _verify(self, token: str) -> dict[str, Any]:
        try:
            try:
                decoded = jwt.decode(token, self._key_set(), algorithms=ALGORITHMS)
            except InvalidKeyIdError:
                decoded = jwt.decode(token, self._key_set(refresh=True), algorithms=ALGORITHMS)
            self._claims.validate(decoded.claims)
        except ExpiredTokenError:
            raise AuthError("TOKEN_EXPIRED", "the token has expired") from None
        except (JoseError, ValueError, TypeError) as e:
            raise AuthError("TOKEN_INVALID", f"the token is not valid: {_describe(e)}") from None
        if decoded.header.get("typ", "").lower() not in ("at+jwt", "application/at+jwt"):
            raise AuthError("TOKEN_INVALID", "the token is not an access token (typ must be at+jwt)")
        scope = decoded.claims.get("scope", "")
        if "client_id" in decoded.claims and API_SCOPE not in (scope.split() if isinstance(scope, str) else ()):
            raise AuthError("TOKEN_INVALID", f"the client's token was not granted the `{API_SCOPE}` scope")
        return decoded.claims

    def _key_set(self, refresh: bool = False) -> KeySet:
        with self._lock:
            stale = refresh and self._clock() - self._fetched_at >= REFRESH_INTERVAL
            if self._keys is None or stale:
                try:
                    document = self._fetch(self.settings.jwks_url)
                    self._keys = KeySet.import_key_set(document)
                except (OSError, ValueError, JoseError) as e:
                    if self._keys is None:
                        raise KeysUnavailable(f"cannot fetch the token keys from {self.settings.jwks_url}: {e}") from e
                self._fetched_at = self._clock()
            return self._keys


def _grants(claims: dict[str, Any]) -> tuple[Grant, ...] | None:
    """The ``grants`` claim (``[{"role": …, "agency_id": …}, …]``); None without one (every role
    at the home agency, see ``Actor``). Malformed entries grant nothing."""
    if "grants" not in claims:
        return None
    entries = claims["grants"] if isinstance(claims["grants"], list) else []
    return tuple(Grant(e["role"], e["agency_id"]) for e in entries
                 if isinstance(e, dict) and isinstance(e.get("role"), str) and isinstance(e.get("agency_id"), str)
                 and e["agency_id"])


def _bearer(authorization: str | None) -> str:
    if not authorization:
        raise AuthError("TOKEN_MISSING", "this call needs a bearer token (Authorization: Bearer <token>)")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("TOKEN_MISSING", "the Authorization value must be `Bearer <token>`")
    return token.strip()


def _describe(error: Exception) -> str:
    return getattr(error, "description", None) or getattr(error, "error", None) or type(error).__name__
