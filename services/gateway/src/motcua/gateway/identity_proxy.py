"""The identity service's HTTP endpoints under the gateway's URL: OIDC discovery, the JWKS,
the OAuth2 endpoints and the login page (/.well-known/*, /oauth2/*).

Browsers and OIDC clients see one origin, the public issuer; identity's own HTTP port stays
internal. Requests are passed as they are (method, path, query, body, headers but the
hop-by-hop ones), with X-Forwarded-For naming the caller as the gateway resolved it
(kernel client_address); answers come back as they are, redirects and cookies included.

Bodies are limited before they are read (guard.py): a Content-Length over the limit is refused
with 413 at once, and a body without one is counted as it arrives, refused at the first chunk
past the limit. The limit is IDENTITY_MAX_BODY_BYTES (never above MOTCUA_MAX_MESSAGE_BYTES):
these endpoints take forms and small JSON only.
"""

from __future__ import annotations

import logging
from http.cookiejar import DefaultCookiePolicy

import httpx2
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from motcua.kernel.client_address import current_client_address

from .errors import backend_unavailable
from .guard import Refused, read_limited

log = logging.getLogger(__name__)

PREFIXES = ("/.well-known/{rest:path}", "/oauth2/{rest:path}")
# RFC 9110 7.6.1: meaningful for one connection only; content-length is recomputed.
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
              "transfer-encoding", "upgrade", "host", "content-length"}
# A login form, a token request with a client assertion, a logout with an id_token_hint: a few
# kilobytes. Anything much larger is not an OAuth2 request.
IDENTITY_MAX_BODY_BYTES = 64 * 1024


class IdentityProxy:
    def __init__(self, base_url: str, timeout: float, max_body_bytes: int) -> None:
        self.base_url = base_url
        self.timeout = timeout
        self.max_body_bytes = min(max_body_bytes, IDENTITY_MAX_BODY_BYTES)
        self.client: httpx2.AsyncClient | None = None

    async def open(self) -> None:
        # trust_env=False: an in-cluster address, never through an HTTP proxy of the environment.
        # A cookie jar that keeps nothing: the browsers' cookies pass through, they must never
        # be remembered here and sent on behalf of someone else.
        self.client = httpx2.AsyncClient(base_url=self.base_url, timeout=self.timeout, trust_env=False,
                                         follow_redirects=False)
        self.client.cookies.jar.set_policy(DefaultCookiePolicy(allowed_domains=[]))

    async def close(self) -> None:
        if self.client is not None:
            await self.client.aclose()

    backend = "identity"

    def routes(self) -> list[Route]:
        methods = ["GET", "POST", "HEAD", "OPTIONS"]
        return [Route(path, self.forward, methods=methods) for path in PREFIXES]

    def target(self, request: Request) -> str:
        """The path on the backend: the same as the gateway's."""
        return request.url.path

    async def forward(self, request: Request) -> Response:
        assert self.client is not None, "the proxy is opened by the app's lifespan"
        try:
            body = await read_limited(request, self.max_body_bytes, setting="the identity endpoints' limit")
        except Refused as e:
            return e.response
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP]
        # The caller as the gateway resolved it, alone: entries an untrusted caller wrote
        # never reach identity, which trusts the gateway's word (the same rule).
        headers = [(k, v) for k, v in headers if k.lower() not in ("x-forwarded-for", "forwarded")]
        headers.append(("x-forwarded-for", current_client_address()))
        headers.append(("x-forwarded-proto", request.url.scheme))
        try:
            target = self.target(request) + (f"?{request.url.query}" if request.url.query else "")
            upstream = await self.client.request(request.method, target, content=body, headers=headers)
        except httpx2.HTTPError as e:  # refused, reset, timed out: the backend stopping or not back yet
            log.warning("backend request failed", extra={"backend": self.backend, "path": request.url.path,
                                                         "error": repr(e)})
            return backend_unavailable(self.backend)
        response = Response(upstream.content, status_code=upstream.status_code)
        response.raw_headers = [
            (k.encode("latin-1"), v.encode("latin-1")) for k, v in upstream.headers.multi_items()
            if k.lower() not in HOP_BY_HOP
        ] + [(b"content-length", str(len(upstream.content)).encode())]
        return response
