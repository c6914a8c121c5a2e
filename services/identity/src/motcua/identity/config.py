"""The identity service's own settings, read once from the environment at start.

The issuer and audience of tokens are the kernel's (`MOTCUA_AUTH_ISSUER`,
`MOTCUA_AUTH_AUDIENCE`): identity issues exactly what every service verifies.

Environment variables:

- `MOTCUA_IDENTITY_DIR`: the service's files: token signing keys (`keys/`), store secrets
  (`secrets/`). Default: `.local/run/identity` (relative to the working directory, as `make run`
  starts it).
- `MOTCUA_IDENTITY_KEYS_DIR`: token signing keys, `*.pem` (PKCS#8 EC P-256); the last by name signs,
  all are published. Default: `<dir>/keys`.
- `MOTCUA_IDENTITY_DEV_KEYS`: generate a signing key, a key-encryption key and the lookup key when
  there are none. Default: `true`.
- `MOTCUA_IDENTITY_DEV_TOKENS`: serve IssueDevelopmentToken (tokens without login: never in
  production). Default: `false`.
- `MOTCUA_IDENTITY_TOKEN_TTL`: seconds an access token is valid by default. Default: `3600`.
- `MOTCUA_IDENTITY_SUBJECT_KEKS_DIR`: the key-encryption keys that wrap each account's data key
  (personal_data.py), one `<id>.key` file each (base64 of 32 bytes), mounted from a Secret.
  Default: `<dir>/secrets/subject-keks` (generated in development).
- `MOTCUA_IDENTITY_SUBJECT_KEK_ID`: the one that wraps new data keys (the others still unwrap
  until `python -m motcua.identity.rewrap_keys`). Default: the last id by name.
- `CIPHER_KEY`: the store-wide AES key (base64) that encrypted whole events before per-account
  keys replaced it: only read, for the events it encrypted (kernel.legacy_cipher); wins over the
  file below. No default.
- `MOTCUA_IDENTITY_EVENT_KEY_FILE`: a file holding that key (base64), used when it exists (never
  generated any more). Default: `<dir>/secrets/event-store.key`.
- `MOTCUA_IDENTITY_LOOKUP_KEY_FILE`: the HMAC-SHA256 key (base64, 32 bytes) of the index of personal
  id numbers and tax codes, and of the login throttle's keys. Default: `<dir>/secrets/lookup.key`.
- `MOTCUA_IDENTITY_ARGON2_MEMORY`, `_ITERATIONS`, `_PARALLELISM`, `_HASH_LENGTH`: argon2id
  parameters of password hashes (KiB, passes, lanes, bytes); never below Keycloak's defaults.
  Default: `7168`, `5`, `1`, `32`.
- `MOTCUA_IDENTITY_PASSWORD_MIN_LENGTH`: shortest password accepted. Default: `8`.
- `MOTCUA_IDENTITY_TOTP_ISSUER`: the issuer name authenticator apps show. Default: `motcua`.
- `MOTCUA_IDENTITY_LOGIN_FREE_FAILURES`: failed logins of an account from one address before that
  address has to wait. Default: `3`.
- `MOTCUA_IDENTITY_LOGIN_DELAY`, `MOTCUA_IDENTITY_LOGIN_MAX_DELAY`: seconds of the first wait,
  doubled at every further failure up to the maximum. Default: `1`, `60`.
- `MOTCUA_IDENTITY_LOGIN_LOCKOUT_FAILURES`, `MOTCUA_IDENTITY_LOGIN_LOCKOUT`: failures that lock an
  account for one address, and for how many seconds. Default: `10`, `900`.
- `MOTCUA_IDENTITY_ACCOUNT_FREE_FAILURES`: failed logins of an account from every address before
  addresses it never logged in from have to wait (growing waits, never a lockout). Default: `20`.
- `MOTCUA_IDENTITY_SOURCE_FREE_FAILURES`, `MOTCUA_IDENTITY_SOURCE_LOCKOUT_FAILURES`: the same per
  source address over every account (not for accounts that logged in from it before). Default: `20`,
  `100`.
- `MOTCUA_IDENTITY_LOGIN_FAILURE_RESET`: seconds without a failure after which the count starts
  again (older counts are purged). Default: `43200`.
- `MOTCUA_IDENTITY_KNOWN_ADDRESS_DAYS`: days an address an account logged in from stays exempt from
  others' failures. Default: `90`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from motcua.kernel.config import ConfigError, env_flag, env_number

from .passwords import HashParameters
from .throttle import ThrottlePolicy

DEFAULT_DIR = Path(".local/run/identity")


@dataclass(frozen=True)
class IdentityConfig:
    keys_dir: Path
    dev_keys: bool
    dev_tokens: bool
    token_ttl: int
    event_key_file: Path
    lookup_key_file: Path
    subject_keks_dir: Path
    subject_kek_id: str
    argon2: HashParameters
    password_min_length: int
    totp_issuer: str
    account_throttle: ThrottlePolicy
    source_throttle: ThrottlePolicy
    spread_throttle: ThrottlePolicy
    known_address_for: timedelta

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> IdentityConfig:
        env = os.environ if environ is None else environ
        directory = Path(env.get("MOTCUA_IDENTITY_DIR") or DEFAULT_DIR)
        secrets = directory / "secrets"
        argon2 = HashParameters(
            memory_kib=env_number(env, "MOTCUA_IDENTITY_ARGON2_MEMORY", 7168, int),
            iterations=env_number(env, "MOTCUA_IDENTITY_ARGON2_ITERATIONS", 5, int),
            parallelism=env_number(env, "MOTCUA_IDENTITY_ARGON2_PARALLELISM", 1, int, minimum=1),
            hash_length=env_number(env, "MOTCUA_IDENTITY_ARGON2_HASH_LENGTH", 32, int),
        )
        weaker = argon2.weaker_than_minimum()
        if weaker:
            raise ConfigError(f"argon2 parameters below the minimum ({weaker})")
        delay = env_number(env, "MOTCUA_IDENTITY_LOGIN_DELAY", 1.0, float, minimum=0.0)
        max_delay = env_number(env, "MOTCUA_IDENTITY_LOGIN_MAX_DELAY", 60.0, float, minimum=0.0)
        lockout = env_number(env, "MOTCUA_IDENTITY_LOGIN_LOCKOUT", 900.0, float, minimum=0.0)
        reset = env_number(env, "MOTCUA_IDENTITY_LOGIN_FAILURE_RESET", 43200.0, float, minimum=1.0)
        return cls(
            keys_dir=Path(env.get("MOTCUA_IDENTITY_KEYS_DIR") or directory / "keys"),
            dev_keys=env_flag(env, "MOTCUA_IDENTITY_DEV_KEYS", True),
            dev_tokens=env_flag(env, "MOTCUA_IDENTITY_DEV_TOKENS", False),
            token_ttl=env_number(env, "MOTCUA_IDENTITY_TOKEN_TTL", 3600, int, minimum=1),
            event_key_file=Path(env.get("MOTCUA_IDENTITY_EVENT_KEY_FILE") or secrets / "event-store.key"),
            lookup_key_file=Path(env.get("MOTCUA_IDENTITY_LOOKUP_KEY_FILE") or secrets / "lookup.key"),
            subject_keks_dir=Path(env.get("MOTCUA_IDENTITY_SUBJECT_KEKS_DIR") or secrets / "subject-keks"),
            subject_kek_id=env.get("MOTCUA_IDENTITY_SUBJECT_KEK_ID", "").strip(),
            argon2=argon2,
            password_min_length=env_number(env, "MOTCUA_IDENTITY_PASSWORD_MIN_LENGTH", 8, int, minimum=1),
            totp_issuer=env.get("MOTCUA_IDENTITY_TOTP_ISSUER", "").strip() or "motcua",
            account_throttle=ThrottlePolicy(
                free_failures=env_number(env, "MOTCUA_IDENTITY_LOGIN_FREE_FAILURES", 3, int, minimum=0),
                lockout_failures=env_number(env, "MOTCUA_IDENTITY_LOGIN_LOCKOUT_FAILURES", 10, int, minimum=1),
                first_delay=delay, max_delay=max_delay, lockout=lockout, reset_after=reset,
            ),
            source_throttle=ThrottlePolicy(
                free_failures=env_number(env, "MOTCUA_IDENTITY_SOURCE_FREE_FAILURES", 20, int, minimum=0),
                lockout_failures=env_number(env, "MOTCUA_IDENTITY_SOURCE_LOCKOUT_FAILURES", 100, int, minimum=1),
                first_delay=delay, max_delay=max_delay, lockout=lockout, reset_after=reset,
            ),
            spread_throttle=ThrottlePolicy(
                free_failures=env_number(env, "MOTCUA_IDENTITY_ACCOUNT_FREE_FAILURES", 20, int, minimum=0),
                lockout_failures=None, first_delay=delay, max_delay=max_delay, lockout=lockout, reset_after=reset,
            ),
            known_address_for=timedelta(days=env_number(env, "MOTCUA_IDENTITY_KNOWN_ADDRESS_DAYS", 90.0, float,
                                                        minimum=0.0)),
        )
