"""CORS: browser applications on other origins (the citizens' portal, the officers' desk) call the
REST API and the OIDC endpoints (/.well-known, /oauth2) of the gateway.

Origins are allowed one by one, exactly (MOTCUA_CORS_ALLOWED_ORIGINS: scheme://host[:port],
comma-separated); no wildcard, as the API answers personal data. Starlette's CORSMiddleware
does the protocol; this class adds the gateway's rules around it:

- credentials: not allowed (no Access-Control-Allow-Credentials). Browsers send the access
  token in the Authorization header, which CORS allows without credentials; the provider's
  cookies (the login page's CSRF cookie) belong to the gateway's own origin, where the login
  page is a top-level navigation, never a cross-origin fetch;
- a preflight names the methods the API uses and the headers a client sends (Authorization,
  Content-Type, If-Match, Last-Event-ID, traceparent, tracestate); Max-Age caches it;
- responses expose the headers a client reads (ETag, Location, Retry-After,
  Content-Disposition);
- an origin that is not allowed gets no CORS header at all: its simple requests are answered as
  for a client without an Origin (the browser then hides the answer from the page), its
  preflights with 403 and the reason, for whoever reads the network log.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from motcua.kernel.config import ConfigError

from .errors import error_response

ALLOWED_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
ALLOWED_HEADERS = ("Authorization", "Content-Type", "If-Match", "If-None-Match", "Last-Event-ID", "traceparent",
                   "tracestate")
EXPOSED_HEADERS = ("ETag", "Location", "Retry-After", "Content-Disposition")
DEFAULT_MAX_AGE = 600  # seconds a browser may reuse a preflight's answer


def parse_origins(raw: str, key: str = "MOTCUA_CORS_ALLOWED_ORIGINS") -> tuple[str, ...]:
    """Comma-separated origins, each exactly scheme://host[:port] as a browser sends it."""
    origins: list[str] = []
    for item in filter(None, (part.strip() for part in raw.split(","))):
        parts = urlsplit(item)
        if item == "*":
            raise ConfigError(f"{key}: name each origin; '*' would let any web page read the API's answers")
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path or parts.query \
                or parts.fragment or parts.username or parts.password:
            raise ConfigError(f"{key} entries must be origins (scheme://host[:port], no path), got {item!r}")
        try:
            parts.port  # noqa: B018  (raises on a bad port)
        except ValueError:
            raise ConfigError(f"{key}: bad port in {item!r}") from None
        origins.append(item.lower())
    return tuple(dict.fromkeys(origins))


class Cors(CORSMiddleware):
    def __init__(self, app: ASGIApp, allowed_origins: Sequence[str], max_age: int = DEFAULT_MAX_AGE) -> None:
        super().__init__(app, allow_origins=list(allowed_origins), allow_methods=ALLOWED_METHODS,
                         allow_headers=ALLOWED_HEADERS, allow_credentials=False, expose_headers=EXPOSED_HEADERS,
                         max_age=max_age)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        if origin is None or self.is_allowed_origin(origin):
            await super().__call__(scope, receive, send)
            return
        if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            response = error_response(403, f"the origin {origin} is not allowed to call this API "
                                           f"(MOTCUA_CORS_ALLOWED_ORIGINS)", status="PERMISSION_DENIED")
            response.headers["Vary"] = "Origin"
            await response(scope, receive, send)
            return

        async def vary_on_origin(message: Message) -> None:
            # Caches must not give this answer to an allowed origin, nor theirs to this one.
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).add_vary_header("Origin")
            await send(message)

        await self.app(scope, receive, vary_on_origin)
