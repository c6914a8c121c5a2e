"""The identity service's HTTP endpoints: the JWKS the other services verify tokens with,
and the OIDC provider's (oidc/routes.py) when it is set up."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from .keys import SigningKeys

JWKS_PATH = "/.well-known/jwks.json"


def http_app(keys: SigningKeys, routes: Sequence[BaseRoute] = ()) -> Starlette:
    document = keys.jwks()

    async def jwks(request: Request) -> JSONResponse:
        # Short caching: a rotated key must reach verifiers well before it signs anything.
        return JSONResponse(document, headers={"Cache-Control": "public, max-age=300"})

    return Starlette(routes=[Route(JWKS_PATH, jwks, methods=["GET"]), *routes])
