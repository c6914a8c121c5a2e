"""Secret keys kept in files (mounted from a Secret in a cluster), generated when missing
where that is allowed (development, or keys whose loss costs nothing but state)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from pathlib import Path

from .config import ConfigError


def load_key(path: Path, size: int, generate: bool, what: str, hint: str = "") -> bytes:
    """The key in ``path`` (base64); a new one of ``size`` random bytes written there first
    when missing and ``generate``."""
    if not path.is_file():
        if not generate:
            raise ConfigError(f"no {what} in {path}; add one (base64 of {size} random bytes){hint}")
        write_new_key(path, size)
    return decode_key(path.read_text(), f"{path}", what)


def decode_key(text: str, source: str, what: str) -> bytes:
    """A key written in base64 (16, 24 or 32 bytes); ConfigError naming ``source`` otherwise."""
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as e:
        raise ConfigError(f"{source} must hold the {what} in base64: {e}") from e
    if len(key) not in (16, 24, 32):
        raise ConfigError(f"{source}: the {what} must be 16, 24 or 32 bytes, got {len(key)}")
    return key


def write_new_key(path: Path, size: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return  # another replica wrote it first: use that one
    with os.fdopen(fd, "w") as f:
        f.write(base64.b64encode(os.urandom(size)).decode() + "\n")


def keyed_hash(key: bytes, kind: str, value: str) -> str:
    """HMAC-SHA256 of ``value`` in the domain ``kind``, hex: to look things up without storing
    them."""
    return hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()
