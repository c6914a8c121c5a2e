"""The OIDC provider's short-lived records in the identity database: clients, login
sessions, authorization codes, refresh tokens and federated-login states.

Plain tables, not events: they are protocol artefacts, not the service's history. Codes and
tokens are stored as their SHA-256, never as themselves. Every state change is one SQL
statement whose WHERE clause is the rule (a code is redeemed once, a refresh token rotates
once), so replicas sharing the database cannot both win.
"""

from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from psycopg import Connection
from psycopg.rows import DictRow, dict_row
from psycopg_pool import ConnectionPool

from motcua.kernel.config import Settings
from motcua.kernel.eventstore import pre_ping

from .clients import Client, digest

SCHEMA = """
CREATE TABLE IF NOT EXISTS oidc_client (
    client_id text PRIMARY KEY,
    metadata jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS oidc_session (
    session_id uuid PRIMARY KEY,
    cookie_hash text NOT NULL UNIQUE,
    account_id text NOT NULL,
    amr text[] NOT NULL,
    auth_time bigint NOT NULL,
    expires_at timestamptz NOT NULL,
    ended_at timestamptz
);
CREATE TABLE IF NOT EXISTS oidc_code (
    code_hash text PRIMARY KEY,
    family_id uuid NOT NULL,
    client_id text NOT NULL,
    session_id uuid NOT NULL,
    account_id text NOT NULL,
    redirect_uri text NOT NULL,
    scope text NOT NULL,
    nonce text,
    code_challenge text,
    code_challenge_method text,
    auth_time bigint NOT NULL,
    amr text[] NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at timestamptz
);
CREATE INDEX IF NOT EXISTS oidc_code_nonce ON oidc_code (client_id, nonce);
CREATE TABLE IF NOT EXISTS oidc_refresh_token (
    token_hash text PRIMARY KEY,
    family_id uuid NOT NULL,
    client_id text NOT NULL,
    session_id uuid,
    account_id text NOT NULL,
    scope text NOT NULL,
    auth_time bigint NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at timestamptz,
    revoked_at timestamptz
);
CREATE INDEX IF NOT EXISTS oidc_refresh_token_family ON oidc_refresh_token (family_id);
CREATE INDEX IF NOT EXISTS oidc_refresh_token_session ON oidc_refresh_token (session_id);
CREATE TABLE IF NOT EXISTS oidc_federation_state (
    state_hash text PRIMARY KEY,
    data jsonb NOT NULL,
    expires_at timestamptz NOT NULL
);
-- The account's password generation at the login: a session outlives no password change.
ALTER TABLE oidc_session ADD COLUMN IF NOT EXISTS password_generation bigint NOT NULL DEFAULT 0;
"""


@dataclass(frozen=True)
class Session:
    session_id: UUID
    account_id: str
    amr: list[str]
    auth_time: int


@dataclass(frozen=True)
class Code:
    family_id: UUID
    client_id: str
    session_id: UUID
    account_id: str
    redirect_uri: str
    scope: str
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: int
    amr: list[str]


@dataclass(frozen=True)
class RefreshToken:
    family_id: UUID
    client_id: str
    session_id: UUID | None
    account_id: str
    scope: str
    auth_time: int


class OidcStore:
    def __init__(self, settings: Settings, max_size: int = 8) -> None:
        env = settings.eventstore_env
        conninfo = (f"host={env['POSTGRES_HOST']} port={env['POSTGRES_PORT']} dbname={env['POSTGRES_DBNAME']} "
                    f"user={env['POSTGRES_USER']} application_name=motcua-{settings.service}-oidc")
        kwargs = {"password": env.get("POSTGRES_PASSWORD", ""), "autocommit": True, "row_factory": dict_row}
        # connection_class only types the pool: its rows are dicts, as row_factory makes them.
        self.pool = ConnectionPool(conninfo, connection_class=Connection[DictRow], kwargs=kwargs, min_size=1,
                                   max_size=max_size, open=True,
                                   name="oidc", check=ConnectionPool.check_connection if pre_ping(settings) else None)
        self.pool.wait(timeout=30)

    def close(self) -> None:
        self.pool.close()

    def migrate(self) -> None:
        with self.pool.connection() as conn, conn.transaction():
            # Replicas start together: one creates the tables, the others wait for it.
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('motcua-identity-oidc-schema'))")
            conn.execute(SCHEMA)

    def _one(self, query: str, params: tuple = ()) -> dict[str, Any] | None:
        with self.pool.connection() as conn:
            return conn.execute(query, params).fetchone()

    def _run(self, query: str, params: tuple = ()) -> int:
        with self.pool.connection() as conn:
            return conn.execute(query, params).rowcount

    # --- clients ------------------------------------------------------------------------------

    def register_clients(self, clients: list[Client]) -> list[str]:
        """Makes the configured clients the registered ones. A client no longer configured is
        deleted (authentication as it fails: invalid_client), and its refresh tokens and unused
        codes are revoked, so that they stay dead should the same client_id come back. Returns
        the removed client ids."""
        ids = [client.client_id for client in clients]
        with self.pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('motcua-identity-oidc-clients'))")
            for client in clients:
                conn.execute("INSERT INTO oidc_client (client_id, metadata) VALUES (%s, %s) "
                             "ON CONFLICT (client_id) DO UPDATE SET metadata = excluded.metadata, updated_at = now()",
                             (client.client_id, json.dumps(client.client_metadata)))
            removed = [row["client_id"] for row in conn.execute(
                "DELETE FROM oidc_client WHERE NOT (client_id = ANY(%s)) RETURNING client_id", (ids,))]
            conn.execute("UPDATE oidc_refresh_token SET revoked_at = now() "
                         "WHERE NOT (client_id = ANY(%s)) AND revoked_at IS NULL", (ids,))
            conn.execute("UPDATE oidc_code SET used_at = now() WHERE NOT (client_id = ANY(%s)) AND used_at IS NULL",
                         (ids,))
        return removed

    def client(self, client_id: str) -> Client | None:
        row = self._one("SELECT client_id, metadata FROM oidc_client WHERE client_id = %s", (client_id,))
        return Client(row["client_id"], row["metadata"]) if row else None

    # --- login sessions -------------------------------------------------------------------------

    def open_session(self, account_id: str, amr: list[str], ttl: int,
                     password_generation: int = 0) -> tuple[Session, str]:
        """A new login session and the secret its cookie carries; ``password_generation``: the
        account's when its password (or other factor) was checked."""
        cookie = secrets.token_urlsafe(32)
        row = self._one(
            "INSERT INTO oidc_session (session_id, cookie_hash, account_id, amr, auth_time, expires_at, "
            "password_generation) "
            "VALUES (%s, %s, %s, %s, floor(extract(epoch FROM now()))::bigint, now() + make_interval(secs => %s), %s) "
            "RETURNING session_id, account_id, amr, auth_time",
            (uuid.uuid4(), digest(cookie), account_id, amr, ttl, password_generation))
        assert row is not None
        return Session(**row), cookie

    def session_by_cookie(self, cookie: str) -> Session | None:
        row = self._one("SELECT session_id, account_id, amr, auth_time FROM oidc_session "
                        "WHERE cookie_hash = %s AND ended_at IS NULL AND expires_at > now()", (digest(cookie),))
        return Session(**row) if row else None

    def session_active(self, session_id: UUID, password_generation: int = 0) -> bool:
        """Whether the session goes on: not ended, not expired, and opened under the account's
        current password (``password_generation``). One opened under an older password is
        ended here, with its refresh tokens."""
        row = self._one("SELECT password_generation FROM oidc_session WHERE session_id = %s AND ended_at IS NULL "
                        "AND expires_at > now()", (session_id,))
        if row is None:
            return False
        if row["password_generation"] != password_generation:
            self.end_session(session_id)
            return False
        return True

    def end_session(self, session_id: UUID) -> None:
        """Ends the session and every refresh token issued under it."""
        with self.pool.connection() as conn, conn.transaction():
            conn.execute("UPDATE oidc_session SET ended_at = now() WHERE session_id = %s AND ended_at IS NULL",
                         (session_id,))
            conn.execute("UPDATE oidc_refresh_token SET revoked_at = now() WHERE session_id = %s "
                         "AND revoked_at IS NULL", (session_id,))

    # --- authorization codes --------------------------------------------------------------------

    def save_code(self, code: str, record: Code, ttl: int) -> None:
        self._run("DELETE FROM oidc_code WHERE expires_at < now() - interval '1 day'")
        self._run(
            "INSERT INTO oidc_code (code_hash, family_id, client_id, session_id, account_id, redirect_uri, scope, "
            "nonce, code_challenge, code_challenge_method, auth_time, amr, expires_at) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, now() + make_interval(secs => %s))",
            (digest(code), record.family_id, record.client_id, record.session_id, record.account_id,
             record.redirect_uri, record.scope, record.nonce, record.code_challenge, record.code_challenge_method,
             record.auth_time, record.amr, ttl))

    def redeem_code(self, code: str, client_id: str) -> Code | None:
        """The code's record, once; a second redemption revokes what the first one got."""
        columns = ", ".join(Code.__dataclass_fields__)
        row = self._one(f"UPDATE oidc_code SET used_at = now() WHERE code_hash = %s AND client_id = %s "
                        f"AND used_at IS NULL AND expires_at > now() RETURNING {columns}", (digest(code), client_id))
        if row is not None:
            return Code(**row)
        used = self._one("SELECT family_id FROM oidc_code WHERE code_hash = %s AND used_at IS NOT NULL",
                         (digest(code),))
        if used is not None:
            self.revoke_family(used["family_id"])
        return None

    def nonce_used(self, client_id: str, nonce: str) -> bool:
        return self._one("SELECT 1 AS used FROM oidc_code WHERE client_id = %s AND nonce = %s",
                         (client_id, nonce)) is not None

    # --- refresh tokens -------------------------------------------------------------------------

    def save_refresh_token(self, token: str, record: RefreshToken, ttl: int) -> None:
        self._run(
            "INSERT INTO oidc_refresh_token (token_hash, family_id, client_id, session_id, account_id, scope, "
            "auth_time, expires_at) VALUES (%s, %s, %s, %s, %s, %s, %s, now() + make_interval(secs => %s))",
            (digest(token), record.family_id, record.client_id, record.session_id, record.account_id,
             record.scope, record.auth_time, ttl))

    def use_refresh_token(self, token: str, client_id: str) -> RefreshToken | None:
        """The token's record, spent (rotation: it can be used once). A token used a second
        time was stolen or leaked: its whole family is revoked (OAuth 2.0 Security BCP 4.14)."""
        columns = ", ".join(RefreshToken.__dataclass_fields__)
        row = self._one(
            f"UPDATE oidc_refresh_token t SET used_at = now() WHERE token_hash = %s AND client_id = %s "
            f"AND used_at IS NULL AND revoked_at IS NULL AND expires_at > now() "
            f"AND (session_id IS NULL OR EXISTS (SELECT 1 FROM oidc_session s WHERE s.session_id = t.session_id "
            f"AND s.ended_at IS NULL AND s.expires_at > now())) RETURNING {columns}", (digest(token), client_id))
        if row is not None:
            return RefreshToken(**row)
        reused = self._one("SELECT family_id FROM oidc_refresh_token WHERE token_hash = %s AND used_at IS NOT NULL",
                           (digest(token),))
        if reused is not None:
            self.revoke_family(reused["family_id"])
        return None

    def find_refresh_token(self, token: str, client_id: str) -> RefreshToken | None:
        columns = ", ".join(RefreshToken.__dataclass_fields__)
        row = self._one(f"SELECT {columns} FROM oidc_refresh_token WHERE token_hash = %s AND client_id = %s",
                        (digest(token), client_id))
        return RefreshToken(**row) if row else None

    def revoke_family(self, family_id: UUID) -> None:
        self._run("UPDATE oidc_refresh_token SET revoked_at = now() WHERE family_id = %s AND revoked_at IS NULL",
                  (family_id,))

    # --- federated login ------------------------------------------------------------------------

    def save_state(self, state: str, data: dict[str, Any], ttl: int) -> None:
        self._run("DELETE FROM oidc_federation_state WHERE expires_at < now()")
        self._run("INSERT INTO oidc_federation_state (state_hash, data, expires_at) "
                  "VALUES (%s, %s, now() + make_interval(secs => %s))", (digest(state), json.dumps(data), ttl))

    def take_state(self, state: str, browser: str) -> dict[str, Any] | None:
        """The state's data, once, and only for the browser it was saved for (``browser``: the
        secret of that browser's cookie): another browser's callback leaves it in place."""
        if not browser:
            return None
        row = self._one("DELETE FROM oidc_federation_state WHERE state_hash = %s AND expires_at > now() "
                        "AND data->>'browser' = %s RETURNING data", (digest(state), digest(browser)))
        return row["data"] if row else None
