"""Settings of the OIDC provider, read once from the environment at start.

Environment variables:

- `MOTCUA_IDENTITY_OIDC_CLIENTS`: JSON file of the registered clients (see clients.py); a client
  left out is removed at start, its refresh tokens revoked. Default: none: no client can log in.
- `MOTCUA_IDENTITY_OIDC_DEV_ACCOUNTS`: JSON file of development accounts (dev_accounts.py) in place
  of the service's own (tests of the protocol with fixed people; never in production). Default:
  none: the service's own accounts.
- `MOTCUA_IDENTITY_OIDC_CODE_TTL`: seconds an authorization code is valid. Default: `60`.
- `MOTCUA_IDENTITY_OIDC_REFRESH_TTL`: seconds a refresh token is valid (each rotation starts again).
  Default: `2592000` (30 days).
- `MOTCUA_IDENTITY_OIDC_SESSION_TTL`: seconds a login session lasts (refresh tokens end with it).
  Default: `2592000`.
- `MOTCUA_IDENTITY_OIDC_ID_TOKEN_TTL`: seconds an ID token is valid. Default: `3600`.
- `MOTCUA_IDENTITY_OIDC_SECURE_COOKIES`: the session and CSRF cookies only over https. Default:
  `true` unless the issuer is http.
- `MOTCUA_IDENTITY_FEDERATION_ISSUER`: an upstream OIDC provider citizens may log in with (VNeID).
  Default: none.
- `MOTCUA_IDENTITY_FEDERATION_CLIENT_ID`, `_CLIENT_SECRET`: this provider's client at the upstream
  one. No default.
- `MOTCUA_IDENTITY_FEDERATION_NAME`: its name on the login page. Default: `VNeID`.
- `MOTCUA_IDENTITY_FEDERATION_SCOPE`: the scope asked of it. Default: `openid personal_id`.
- `MOTCUA_IDENTITY_FEDERATION_PIN_CLAIM`: the claim of its ID token carrying the personal
  identification number. Default: `personal_id_number`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from motcua.kernel.config import ConfigError, env_flag, env_number


@dataclass(frozen=True)
class Federation:
    issuer: str
    client_id: str
    client_secret: str
    name: str = "VNeID"
    scope: str = "openid personal_id"
    pin_claim: str = "personal_id_number"


@dataclass(frozen=True)
class OidcConfig:
    clients_file: Path | None = None
    dev_accounts_file: Path | None = None
    code_ttl: int = 60
    refresh_ttl: int = 30 * 86400
    session_ttl: int = 30 * 86400
    id_token_ttl: int = 3600
    secure_cookies: bool = True
    federation: Federation | None = None

    @classmethod
    def from_env(cls, issuer: str, environ: Mapping[str, str] | None = None) -> OidcConfig:
        env = os.environ if environ is None else environ
        clients = env.get("MOTCUA_IDENTITY_OIDC_CLIENTS", "").strip()
        accounts = env.get("MOTCUA_IDENTITY_OIDC_DEV_ACCOUNTS", "").strip()
        return cls(
            clients_file=Path(clients) if clients else None,
            dev_accounts_file=Path(accounts) if accounts else None,
            code_ttl=env_number(env, "MOTCUA_IDENTITY_OIDC_CODE_TTL", 60, int, minimum=1),
            refresh_ttl=env_number(env, "MOTCUA_IDENTITY_OIDC_REFRESH_TTL", 30 * 86400, int, minimum=1),
            session_ttl=env_number(env, "MOTCUA_IDENTITY_OIDC_SESSION_TTL", 30 * 86400, int, minimum=1),
            id_token_ttl=env_number(env, "MOTCUA_IDENTITY_OIDC_ID_TOKEN_TTL", 3600, int, minimum=1),
            secure_cookies=env_flag(env, "MOTCUA_IDENTITY_OIDC_SECURE_COOKIES", not issuer.startswith("http://")),
            federation=_federation(env),
        )


def _federation(env: Mapping[str, str]) -> Federation | None:
    issuer = env.get("MOTCUA_IDENTITY_FEDERATION_ISSUER", "").strip().rstrip("/")
    if not issuer:
        return None
    client_id = env.get("MOTCUA_IDENTITY_FEDERATION_CLIENT_ID", "").strip()
    if not client_id:
        raise ConfigError("MOTCUA_IDENTITY_FEDERATION_CLIENT_ID is not set (the client at the upstream provider)")
    return Federation(
        issuer=issuer,
        client_id=client_id,
        client_secret=env.get("MOTCUA_IDENTITY_FEDERATION_CLIENT_SECRET", ""),
        name=env.get("MOTCUA_IDENTITY_FEDERATION_NAME", "").strip() or "VNeID",
        scope=env.get("MOTCUA_IDENTITY_FEDERATION_SCOPE", "").strip() or "openid personal_id",
        pin_claim=env.get("MOTCUA_IDENTITY_FEDERATION_PIN_CLAIM", "").strip() or "personal_id_number",
    )
