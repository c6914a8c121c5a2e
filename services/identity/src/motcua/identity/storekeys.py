"""The identity store's secret keys: the event store's AES key and the lookup HMAC key.

Each comes from a file (mounted from a Secret in a cluster); in development a missing
file is generated with a fresh random key, like the token signing keys (keys.py).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from pathlib import Path

from motcua.kernel.config import ConfigError

EVENT_KEY_BYTES = 32  # AES-256-GCM
LOOKUP_KEY_BYTES = 32


def load_key(path: Path, size: int, generate: bool, what: str) -> bytes:
    """The key in ``path`` (base64); a new one written there first when missing and ``generate``."""
    if not path.is_file():
        if not generate:
            raise ConfigError(f"no {what} in {path}; add one (base64 of {size} random bytes) "
                              "or set MOTCUA_IDENTITY_DEV_KEYS=true")
        _write_new(path, size)
    try:
        key = base64.b64decode(path.read_text().strip(), validate=True)
    except (binascii.Error, ValueError) as e:
        raise ConfigError(f"{path} must hold the {what} in base64: {e}") from e
    if len(key) not in (16, 24, 32):
        raise ConfigError(f"{path}: the {what} must be 16, 24 or 32 bytes, got {len(key)}")
    return key


def _write_new(path: Path, size: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return  # another replica wrote it first: use that one
    with os.fdopen(fd, "w") as f:
        f.write(base64.b64encode(os.urandom(size)).decode() + "\n")


class Lookup:
    """Keyed hashes (HMAC-SHA256) for looking things up without storing them: personal id
    numbers and tax codes in the identifier index, logins and addresses in the throttle."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def digest(self, kind: str, value: str) -> str:
        return hmac.new(self._key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()
