"""/openapi.json and /docs: the generated OpenAPI document, and Swagger UI reading it.

Swagger UI is the npm package swagger-ui-dist, installed by `make gateway-ui` (npm ci in
services/gateway/ui, from its package-lock.json) and served as static files from
/docs/assets/; MOTCUA_DOCS_DIR points elsewhere (e.g. in an image). Nothing is loaded from
another host: the page, its script and its assets come from the gateway, and the online spec
validator badge is off.

With MOTCUA_DOCS_OIDC_CLIENT_ID, the page's Authorize button logs in at the OIDC provider the
gateway fronts (the document's `openIdConnect` scheme), by authorization code with PKCE, as that
public client; the client is registered with the redirect URI
`<gateway URL>/docs/assets/oauth2-redirect.html` (Swagger UI's page, which hands the code back
to the docs page). Without it, a token is pasted into the `bearer` scheme by hand.
"""

from __future__ import annotations

import html
import json
import logging
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from .errors import error_response

log = logging.getLogger(__name__)

REQUIRED_ASSETS = ("swagger-ui.css", "swagger-ui-bundle.js")

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="{root}/docs/assets/swagger-ui.css">
<link rel="icon" type="image/png" href="{root}/docs/assets/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui" data-url="{root}/openapi.json" data-client-id="{client_id}"></div>
<script src="{root}/docs/assets/swagger-ui-bundle.js"></script>
<script src="{root}/docs/init.js"></script>
</body>
</html>
"""

# A file rather than an inline script, so that the page's Content-Security-Policy needs no
# 'unsafe-inline' for scripts.
_INIT = """window.addEventListener("load", async function () {
  var element = document.getElementById("swagger-ui");
  var documentUrl = new URL(element.getAttribute("data-url"), location.href);
  var clientId = element.getAttribute("data-client-id");
  var spec = await (await fetch(documentUrl)).json();
  if (clientId) {
    // The openIdConnect scheme as the authorization code flow its discovery document describes:
    // Swagger UI logs in with that (and PKCE) reliably, from the provider's own endpoints.
    var schemes = (spec.components || {}).securitySchemes || {};
    for (var name of Object.keys(schemes)) {
      var scheme = schemes[name];
      if (scheme.type !== "openIdConnect") continue;
      try {
        var discovery = await (await fetch(new URL(scheme.openIdConnectUrl, documentUrl))).json();
        schemes[name] = {type: "oauth2", description: scheme.description, flows: {authorizationCode: {
          authorizationUrl: discovery.authorization_endpoint, tokenUrl: discovery.token_endpoint,
          scopes: {openid: "OpenID Connect", api: "The motcua API"}}}};
      } catch (e) {
        console.error("no OpenID Connect discovery", e);
      }
    }
  }
  window.ui = SwaggerUIBundle({
    spec: spec,
    oauth2RedirectUrl: new URL("docs/assets/oauth2-redirect.html", documentUrl).href,
    dom_id: "#swagger-ui",
    deepLinking: true,
    displayOperationId: true,
    defaultModelsExpandDepth: 0,
    tryItOutEnabled: false,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout"
  });
  if (clientId) {
    // A public client: no secret in the page; PKCE protects the code.
    window.ui.initOAuth({clientId: clientId, usePkceWithAuthorizationCodeGrant: true, scopes: ["openid", "api"]});
  }
});
"""

_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")


def openapi_route(document: dict[str, Any]) -> Route:
    body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    async def openapi(request: Request) -> Response:
        return Response(body, media_type="application/json", headers={"Cache-Control": "no-cache"})

    return Route("/openapi.json", openapi, methods=["GET"])


def usable_ui_dir(directory: Path | None) -> Path | None:
    if directory is None:
        return None
    if all((directory / name).is_file() for name in REQUIRED_ASSETS):
        return directory
    log.warning("Swagger UI not found: /docs is unavailable (make gateway-ui installs it)",
                extra={"docs_dir": str(directory)})
    return None


def docs_routes(ui_dir: Path | None, title: str, oidc_client_id: str = "") -> list[BaseRoute]:
    ui_dir = usable_ui_dir(ui_dir)

    async def page(request: Request) -> Response:
        if ui_dir is None:
            return error_response(503, "Swagger UI is not installed here (make gateway-ui); "
                                       "the OpenAPI document is at /openapi.json")
        root = html.escape(request.scope.get("root_path", "").rstrip("/"), quote=True)
        return HTMLResponse(_PAGE.format(root=root, title=html.escape(title),
                                         client_id=html.escape(oidc_client_id, quote=True)),
                            headers={"Content-Security-Policy": _CSP, "Cache-Control": "no-cache"})

    async def init(request: Request) -> Response:
        return Response(_INIT, media_type="text/javascript", headers={"Cache-Control": "no-cache"})

    routes: list[BaseRoute] = [
        Route("/docs", page, methods=["GET"]),
        Route("/docs/", page, methods=["GET"]),
        Route("/docs/init.js", init, methods=["GET"]),
    ]
    if ui_dir is not None:
        routes.append(Mount("/docs/assets", StaticFiles(directory=ui_dir), name="docs-assets"))
    return routes
