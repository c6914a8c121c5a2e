"""Access tokens: JWTs (RFC 9068 `at+jwt`) that every service's kernel verifies, and the
development tokens of development stacks (any account, any roles)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from joserfc import jwt

from motcua.kernel.config import AuthSettings
from motcua.kernel.context import Grant
from motcua.kernel.errors import DomainError, InvalidArgument
from motcua.kernel.roles import is_granted_at_agency

from .keys import SigningKeys


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_at: int  # seconds since the epoch
    subject: str


class TokenIssuer:
    def __init__(self, keys: SigningKeys, auth: AuthSettings) -> None:
        self.keys = keys
        self.auth = auth

    def issue(self, subject: str, roles: list[str], agency_id: str = "", name: str = "",
              ttl: int = 3600, now: float | None = None, extra: dict | None = None,
              audience: str | list[str] | None = None, grants: Iterable[Any] | None = None) -> IssuedToken:
        """``grants``: the account's role grants (``role``, ``agency_id``), each kept with its
        agency in the ``grants`` claim; None grants every role but applicant at ``agency_id``
        (development tokens, services' client credentials). ``roles`` stays the union, ``agency_id``
        the home agency. ``extra``: further claims (the OIDC provider's client_id, scope, sid,
        auth_time); ``audience``: who the token is for, when not the services
        (``MOTCUA_AUTH_AUDIENCE``)."""
        issued_at = int(time.time() if now is None else now)
        claims = {
            "iss": self.auth.issuer,
            "sub": subject,
            "aud": self.auth.audience if audience is None else audience,
            "iat": issued_at,
            "nbf": issued_at,
            "exp": issued_at + ttl,
            "jti": str(uuid.uuid4()),
            "roles": roles,
            "grants": _grants_claim(roles, agency_id, grants),
        }
        if agency_id:
            claims["agency_id"] = agency_id
        if name:
            claims["name"] = name
        for key, value in (extra or {}).items():
            claims.setdefault(key, value)  # never overrides the claims above
        key = self.keys.active
        header = {"alg": "ES256", "typ": "at+jwt", "kid": self.keys.key_id(key)}
        return IssuedToken(jwt.encode(header, claims, key), issued_at + ttl, subject)


def _grants_claim(roles: list[str], agency_id: str, grants: Iterable[Any] | None) -> list[dict[str, str]]:
    if grants is None:
        return [{"role": r, "agency_id": agency_id} for r in roles if agency_id and is_granted_at_agency(r)]
    return [{"role": g.role, "agency_id": g.agency_id} for g in grants]


class DevelopmentTokensDisabled(DomainError):
    def __init__(self) -> None:
        super().__init__("development tokens are turned off on this deployment (MOTCUA_IDENTITY_DEV_TOKENS)")


class DevelopmentTokens:
    """Tokens for any account and roles, without a login: only where turned on
    (``MOTCUA_IDENTITY_DEV_TOKENS``), for scripts and tests."""

    def __init__(self, issuer: TokenIssuer, enabled: bool, default_ttl: int) -> None:
        self.issuer = issuer
        self.enabled = enabled
        self.default_ttl = default_ttl

    def issue(self, roles: list[str], agency_id: str = "", display_name: str = "", ttl: int | None = None,
              account_id: str = "", grants: Iterable[Grant] = ()) -> IssuedToken:
        """``roles`` at ``agency_id`` (every role but applicant needs one) and further ``grants``
        each at its own agency; a new subject unless ``account_id`` is given."""
        if not self.enabled:
            raise DevelopmentTokensDisabled()
        if not agency_id and any(is_granted_at_agency(r) for r in roles):
            raise InvalidArgument.field("agency_id", "is required for every role but applicant")
        subject = account_id or str(uuid.uuid4())
        held = [Grant(r, agency_id) for r in roles if is_granted_at_agency(r)] + list(grants)
        roles = roles + [g.role for g in held if g.role not in roles]
        return self.issuer.issue(
            subject,
            roles,
            agency_id,
            display_name,
            max(self.default_ttl if ttl is None else ttl, 1),
            grants=list(dict.fromkeys(held)),
        )
