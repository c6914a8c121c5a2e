"""Registered OIDC clients: registered by configuration (a JSON file) and kept in the
database, so that every replica answers for the same clients.

An entry: ``client_id``; ``client_secret`` (or ``client_secret_sha256``, or ``client_secret_file``:
a file holding it, e.g. mounted from a Kubernetes Secret; relative to the clients file) for a
confidential client; ``token_endpoint_auth_method`` (``none`` for a public client such as a browser
app, which must then use PKCE S256; ``client_secret_basic`` or ``client_secret_post``);
``redirect_uris``; ``post_logout_redirect_uris``; ``grant_types`` (``authorization_code``,
``refresh_token``, ``client_credentials``); ``scope``: the scopes the client may ask for (asking for
any other is ``invalid_scope``), among them ``api`` for access tokens the motcua services accept;
``audience``: the ``aud`` of those access tokens (default: the services' audience,
``MOTCUA_AUTH_AUDIENCE``); for a service logging in as itself (client credentials) the ``roles`` and
``agency_id`` of its tokens.

A client removed from the file stops working at the next start: its registration is deleted
and its refresh tokens revoked (store.register_clients).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from authlib.oauth2.rfc6749 import ClientMixin
from authlib.oauth2.rfc6749.util import scope_to_list

from motcua.kernel.config import ConfigError

PUBLIC = "none"
AUTH_METHODS = ("none", "client_secret_basic", "client_secret_post")
GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials")


def digest(value: str) -> str:
    """SHA-256 of a high-entropy secret (codes, tokens, client secrets): what is stored."""
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass(frozen=True)
class Client(ClientMixin):
    client_id: str
    client_metadata: dict[str, Any]

    @property
    def public(self) -> bool:
        return self.client_metadata.get("token_endpoint_auth_method") == PUBLIC

    @property
    def roles(self) -> list[str]:
        return list(self.client_metadata.get("roles", []))

    @property
    def agency_id(self) -> str:
        return str(self.client_metadata.get("agency_id", ""))

    @property
    def audience(self) -> str:
        """The audience of its API access tokens; empty: the services' default."""
        return str(self.client_metadata.get("audience", ""))

    def allows_scope(self, scope: str | None) -> bool:
        """Whether every scope in ``scope`` is one the client may ask for."""
        allowed = set(scope_to_list(self.client_metadata.get("scope", "")) or [])
        return set(scope_to_list(scope) or []) <= allowed

    def allowed_part(self, scope: str) -> str:
        """The part of ``scope`` the client may still have (its registration may have narrowed
        since a refresh token was issued)."""
        allowed = scope_to_list(self.client_metadata.get("scope", "")) or []
        return " ".join(s for s in scope_to_list(scope) or [] if s in allowed)

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        uris = self.client_metadata.get("redirect_uris", [])
        return uris[0] if len(uris) == 1 else None

    def get_allowed_scope(self, scope: str | None) -> str:
        allowed = scope_to_list(self.client_metadata.get("scope", "")) or []
        if not scope:
            return " ".join(allowed)
        return " ".join(s for s in scope_to_list(scope) if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.client_metadata.get("redirect_uris", [])  # exact match only

    def check_client_secret(self, client_secret: str) -> bool:
        expected = self.client_metadata.get("client_secret_sha256", "")
        return bool(expected) and hmac.compare_digest(digest(client_secret), expected)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == self.client_metadata.get("token_endpoint_auth_method")

    def check_response_type(self, response_type: str) -> bool:
        return response_type in self.client_metadata.get("response_types", ["code"])

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.client_metadata.get("grant_types", [])


def load_clients(path: Path) -> list[Client]:
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ConfigError(f"cannot read the OIDC clients {path}: {e}") from e
    return [_client(dict(entry), path) for entry in entries]


def _client(entry: dict[str, Any], path: Path) -> Client:
    client_id = str(entry.pop("client_id", "")).strip()
    if not client_id:
        raise ConfigError(f"{path}: a client has no client_id")
    secret = entry.pop("client_secret", "")
    secret_file = entry.pop("client_secret_file", "")
    if secret_file and not secret:
        secret = _read_secret(path.parent / secret_file, client_id, path)
    if secret:
        entry["client_secret_sha256"] = digest(secret)
    method = entry.setdefault("token_endpoint_auth_method", "client_secret_basic")
    if method not in AUTH_METHODS:
        raise ConfigError(f"{path}: client {client_id}: token_endpoint_auth_method must be one of {AUTH_METHODS}")
    if method != PUBLIC and not entry.get("client_secret_sha256"):
        raise ConfigError(f"{path}: client {client_id} is confidential ({method}) but has no client_secret")
    unknown = set(entry.get("grant_types", [])) - set(GRANT_TYPES)
    if unknown:
        raise ConfigError(f"{path}: client {client_id}: unsupported grant types {sorted(unknown)}")
    if method == PUBLIC and "client_credentials" in entry.get("grant_types", []):
        raise ConfigError(f"{path}: client {client_id} is public: it cannot use client_credentials")
    audience = entry.get("audience", "")
    if not isinstance(audience, str):
        raise ConfigError(f"{path}: client {client_id}: audience must be a string")
    if not isinstance(entry.get("scope", ""), str):
        raise ConfigError(f"{path}: client {client_id}: scope must be a space-separated string")
    entry.setdefault("response_types", ["code"] if "authorization_code" in entry.get("grant_types", []) else [])
    return Client(client_id, entry)


def _read_secret(secret_file: Path, client_id: str, path: Path) -> str:
    try:
        secret = secret_file.read_text(encoding="utf-8").strip()
    except OSError as e:
        raise ConfigError(f"{path}: client {client_id}: cannot read its client_secret_file: {e}") from e
    if not secret:
        raise ConfigError(f"{path}: client {client_id}: its client_secret_file {secret_file} is empty")
    return secret
