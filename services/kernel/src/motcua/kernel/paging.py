"""Page tokens: opaque to clients, bound to the query they continue (pure, no I/O).

A list RPC pages through rows in a fixed order; its ``next_page_token`` says where the page
ended (the position: a key, an offset, a sort key and id) and carries a digest of the query
it belongs to: the list's name and every filter or ordering choice that decides which rows
come in which order. Given back with another query, the position would silently skip or
repeat rows, so such a token is refused like a malformed one: INVALID_ARGUMENT on the field
``page_token``. The page size is not part of the query: a client may ask for larger or
smaller pages as it goes (AIP-158).

    query = PageQuery("accounts", kind, agency_id, state)
    after = query.position(request_token, int)        # None: the first page
    next_token = query.token(last_row_id) if more else ""

The token is base64url (unpadded) of ``[version, digest, position]`` in JSON; clients must
treat it as opaque. It is not signed: a client forging a position only moves where its own
query starts, and every query still applies the caller's filters and authorization.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from .errors import InvalidArgument

TOKEN_VERSION = 1
PAGE_TOKEN_FIELD = "page_token"
_REFUSAL = "is not a next_page_token returned by this list for the same filters and order"


class PageQuery:
    """One list query as its page tokens know it: ``name`` (which list) and the ``filters``
    (anything JSON can write, or that ``str`` names: UUIDs, dates; None is "no filter")."""

    def __init__(self, name: str, *filters: object) -> None:
        canonical = json.dumps([name, *filters], default=str, sort_keys=True, ensure_ascii=False)
        self.digest = hashlib.sha256(canonical.encode()).hexdigest()[:16]

    def token(self, position: object) -> str:
        """The token of the page that follows ``position`` (a JSON value: int, str, or a list)."""
        raw = json.dumps([TOKEN_VERSION, self.digest, position], default=str, ensure_ascii=False)
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    def position(self, token: str, *shape: type) -> Any:
        """Where the previous page ended: None for no token (the first page); the value when
        ``shape`` is one type, a tuple when it is several (the parts of a list position).
        InvalidArgument on ``page_token`` for a token of another query, or none of ours."""
        if not token:
            return None
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
            version, digest, position = json.loads(raw)
        except (ValueError, TypeError):  # binascii, Unicode and JSON errors are ValueErrors
            raise invalid_page_token() from None
        if version != TOKEN_VERSION or digest != self.digest:
            raise invalid_page_token()
        if len(shape) == 1:
            if not _is(position, shape[0]):
                raise invalid_page_token()
            return position
        if not isinstance(position, list) or len(position) != len(shape) or not all(map(_is, position, shape)):
            raise invalid_page_token()
        return tuple(position)


def _is(value: object, kind: type) -> bool:
    # JSON's true is not a position, although bool is an int to Python.
    return isinstance(value, kind) and not (isinstance(value, bool) and kind is not bool)


def invalid_page_token() -> InvalidArgument:
    """The refusal of a page token, also for a position the list cannot use (a negative offset)."""
    return InvalidArgument.field(PAGE_TOKEN_FIELD, _REFUSAL)
