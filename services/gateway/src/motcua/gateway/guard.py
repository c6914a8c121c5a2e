"""What the gateway checks before it spends memory or CPU on a request: the body's size, read
as it streams in and never past the limit, and the caller's bearer token, before the body is
read or parsed. Parsing a large body is then done off the event loop (off_loop).

A JSON body costs many times its size once parsed (a 4 MiB one of small objects became ~97 MiB
of Python objects), and parsing it on the event loop stalls every other request; so an
anonymous caller must not get that far on a route that needs a token, and nobody gets it for a
body over MOTCUA_MAX_MESSAGE_BYTES.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from google.rpc import error_details_pb2
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from motcua.kernel.auth import AuthError, KeysUnavailable, TokenVerifier
from motcua.kernel.config import AuthSettings
from motcua.kernel.grpc_errors import ERROR_DOMAIN, pack_details

from .errors import error_response

T = TypeVar("T")

# Bodies and responses above this are parsed and rendered in a worker thread: below it the
# hop to a thread costs more than the work.
OFF_LOOP_BYTES = 64 * 1024
# Few workers: they bound how many large bodies are turned into objects at once (memory: a body
# at the limit may become a few hundred MiB of objects), and the event loop keeps the interpreter
# in between (the GIL passes every few milliseconds). Others wait their turn, as bytes.
PARSE_WORKERS = 2
_heavy = ThreadPoolExecutor(max_workers=PARSE_WORKERS, thread_name_prefix="gateway-parse")

_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")


class Refused(Exception):
    """The request is answered with `response` and goes no further (no backend call; the body,
    when refused by size or token, not read or not read any further)."""

    def __init__(self, response: Response) -> None:
        self.response = response


MESSAGE_LIMIT = "MOTCUA_MAX_MESSAGE_BYTES"


def too_large(limit: int, what: str = "the request body", setting: str = MESSAGE_LIMIT) -> JSONResponse:
    """413 naming the limit, as RESOURCE_EXHAUSTED (what gRPC says of a message over its limit)."""
    info = error_details_pb2.ErrorInfo(reason="MESSAGE_TOO_LARGE", domain=ERROR_DOMAIN,
                                       metadata={"limit_bytes": str(limit), "setting": setting})
    return error_response(413, f"{what} exceeds the limit of {limit} bytes ({setting})",
                          status="RESOURCE_EXHAUSTED", details=pack_details(info), headers={"Connection": "close"})


def check_length(request: Request, limit: int, setting: str = MESSAGE_LIMIT) -> None:
    """Refused (413) when the declared Content-Length is over the limit: nothing of the body is
    read."""
    length = request.headers.get("content-length", "").strip()
    if length.isdigit() and int(length) > limit:
        raise Refused(too_large(limit, setting=setting))


async def read_limited(request: Request, limit: int, setting: str = MESSAGE_LIMIT) -> bytes:
    """The body, counted as it arrives (chunked, or a Content-Length that lies): reading stops
    at the first chunk past the limit, with 413."""
    check_length(request, limit, setting)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Refused(too_large(limit, setting=setting))
        chunks.append(chunk)
    return b"".join(chunks)


async def off_loop(work: Callable[[], T], size: int) -> T:
    """work() in a worker thread when `size` (the bytes it handles) makes it heavy; else here."""
    if size <= OFF_LOOP_BYTES:
        return work()
    return await asyncio.get_running_loop().run_in_executor(_heavy, work)


# The most JSON values (objects, arrays, list and member separators) a body may hold. Memory
# goes with the number of values, not the bytes: 16 MiB of `{},` is 5.6 million dicts, hundreds
# of MiB. No request of the API comes near this many (a 10 MiB attachment is one string value).
MAX_JSON_VALUES = 100_000


def count_json_values(raw: bytes) -> int:
    """An upper bound of the values in a JSON text, from bytes alone (separators inside strings
    count too): a few milliseconds for a body at the limit, and no object made."""
    return raw.count(b",") + raw.count(b"{") + raw.count(b"[")


def too_many_values(limit: int) -> JSONResponse:
    info = error_details_pb2.ErrorInfo(reason="TOO_MANY_JSON_VALUES", domain=ERROR_DOMAIN,
                                       metadata={"limit": str(limit)})
    return error_response(413, f"the body holds more than {limit} JSON values (objects, arrays, elements)",
                          status="RESOURCE_EXHAUSTED", details=pack_details(info))


def unauthenticated(reason: str, message: str) -> JSONResponse:
    """401 in the shape the services' own UNAUTHENTICATED takes (an ErrorInfo with the reason)."""
    info = error_details_pb2.ErrorInfo(reason=reason, domain=ERROR_DOMAIN)
    return error_response(401, message, status="UNAUTHENTICATED", details=pack_details(info))


class TokenGate:
    """The bearer-token check the gateway makes before reading the body of a call that needs one.

    With the token keys (MOTCUA_AUTH_*) it verifies the token as the services do (the kernel's
    TokenVerifier, which caches what it has verified); without them, or while the keys cannot
    be fetched, it checks that the call carries something shaped as a JWT, and the service
    decides. The services verify every token regardless: this check only keeps anonymous
    callers from costing the gateway a large body.
    """

    def __init__(self, settings: AuthSettings | None) -> None:
        self.verifier = TokenVerifier(settings) if settings is not None else None

    async def check(self, authorization: str | None) -> None:
        """Refused (401) unless the Authorization header carries an acceptable bearer token."""
        scheme, _, token = (authorization or "").strip().partition(" ")
        token = token.strip()
        if not authorization:
            raise Refused(unauthenticated("TOKEN_MISSING",
                                          "this call needs a bearer token (Authorization: Bearer <token>)"))
        if scheme.lower() != "bearer" or not token:
            raise Refused(unauthenticated("TOKEN_MISSING", "the Authorization value must be `Bearer <token>`"))
        parts = token.split(".")
        if len(parts) != 3 or not all(_BASE64URL.fullmatch(p) for p in parts):
            raise Refused(unauthenticated("TOKEN_INVALID", "the token is not valid: not a JWT"))
        if self.verifier is None:
            return
        try:
            # In a thread: the first call (and a key rotation) fetches the keys over HTTP.
            await asyncio.to_thread(self.verifier.actor, authorization)
        except AuthError as e:
            raise Refused(unauthenticated(e.reason, str(e))) from None
        except KeysUnavailable:
            return  # the service answers UNAVAILABLE for it, as it does for any call now
