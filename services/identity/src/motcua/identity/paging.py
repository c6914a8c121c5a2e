"""Page tokens: opaque to clients, bound to the query they continue."""

from __future__ import annotations

import base64
import binascii
import hashlib

from motcua.kernel.errors import InvalidArgument


def scope_of(*filters: object) -> str:
    return hashlib.sha256("|".join("" if f is None else str(f) for f in filters).encode()).hexdigest()[:16]


def encode_page_token(last: str, scope: str) -> str:
    return base64.urlsafe_b64encode(f"1:{scope}:{last}".encode()).decode().rstrip("=")


def decode_page_token(token: str, scope: str) -> str:
    """Where the previous page ended; InvalidArgument if the token is not one of this query's."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        version, token_scope, last = raw.split(":", 2)
        if version != "1" or token_scope != scope:
            raise ValueError(raw)
        return last
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidArgument.field(
            "page_token", "is not a next_page_token of a previous call with the same filters") from None
