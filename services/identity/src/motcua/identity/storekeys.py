"""The identity store's secret keys: the event store's AES key and the lookup HMAC key.

Each comes from a file (mounted from a Secret in a cluster); in development a missing
file is generated with a fresh random key, like the token signing keys (keys.py).
"""

from __future__ import annotations

from pathlib import Path

from motcua.kernel import keyfiles

EVENT_KEY_BYTES = 32  # AES-256-GCM
LOOKUP_KEY_BYTES = 32


def load_key(path: Path, size: int, generate: bool, what: str) -> bytes:
    """The key in ``path`` (base64); a new one written there first when missing and ``generate``."""
    return keyfiles.load_key(path, size, generate, what, hint=" or set MOTCUA_IDENTITY_DEV_KEYS=true")


class Lookup:
    """Keyed hashes (HMAC-SHA256) for looking things up without storing them: personal id
    numbers and tax codes in the identifier index, logins and addresses in the throttle."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def digest(self, kind: str, value: str) -> str:
        return keyfiles.keyed_hash(self._key, kind, value)
