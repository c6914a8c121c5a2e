"""The identity service's own settings, read once from the environment at start.

The issuer and audience of tokens are the kernel's (`MOTCUA_AUTH_ISSUER`,
`MOTCUA_AUTH_AUDIENCE`): identity issues exactly what every service verifies.

| variable | meaning | default |
| --- | --- | --- |
| `MOTCUA_IDENTITY_DIR` | the service's files: token signing keys (`keys/`) | `.local/run/identity` (relative to the working directory, as `make run` starts it) |
| `MOTCUA_IDENTITY_KEYS_DIR` | token signing keys, `*.pem` (PKCS#8 EC P-256); the last by name signs, all are published | `<dir>/keys` |
| `MOTCUA_IDENTITY_DEV_KEYS` | generate a signing key when there is none | `true` |
| `MOTCUA_IDENTITY_DEV_TOKENS` | serve IssueDevelopmentToken (tokens without login: never in production) | `false` |
| `MOTCUA_IDENTITY_TOKEN_TTL` | seconds an access token is valid by default | `3600` |
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from motcua.kernel.config import env_flag, env_number

DEFAULT_DIR = Path(".local/run/identity")


@dataclass(frozen=True)
class IdentityConfig:
    keys_dir: Path
    dev_keys: bool
    dev_tokens: bool
    token_ttl: int

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> IdentityConfig:
        env = os.environ if environ is None else environ
        directory = Path(env.get("MOTCUA_IDENTITY_DIR") or DEFAULT_DIR)
        return cls(
            keys_dir=Path(env.get("MOTCUA_IDENTITY_KEYS_DIR") or directory / "keys"),
            dev_keys=env_flag(env, "MOTCUA_IDENTITY_DEV_KEYS", True),
            dev_tokens=env_flag(env, "MOTCUA_IDENTITY_DEV_TOKENS", False),
            token_ttl=env_number(env, "MOTCUA_IDENTITY_TOKEN_TTL", 3600, int, minimum=1),
        )
