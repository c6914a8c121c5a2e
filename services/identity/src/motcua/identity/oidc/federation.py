"""Login through an upstream OIDC provider (as citizens do with VNeID), linked to the local
citizen by the personal identification number the upstream ID token carries.

The browser goes to ``/oauth2/federation/start`` with the pending authorization request;
this provider sends it on to the upstream one (code flow, PKCE S256, state and nonce kept in
the database so that any replica takes the callback), takes the code back at
``/oauth2/federation/callback``, exchanges it with authlib's client, checks the ID token
(signature against the upstream JWKS, iss, aud, exp, nonce) and answers the original
authorization request as the linked citizen.

The callback is bound to the browser that started the login (RFC 6749 10.12, OIDC Core
3.1.2.1): the start sets a cookie holding a secret whose digest is kept with the state, and
a callback whose browser does not carry that cookie is refused. Otherwise anyone could send a
victim's browser to the callback with a code and state of the attacker's own upstream login,
and the victim would be signed in as the attacker (login CSRF).
"""

from __future__ import annotations

import logging
import secrets
import threading
from typing import Any, cast
from urllib.parse import parse_qsl

import httpx2 as httpx
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import OAuth2Client
from authlib.oauth2 import OAuth2Error
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet, KeySetSerialization
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from . import login_page
from .clients import digest
from .config import Federation
from .routes import OidcRoutes, read
from .server import HttpRequest, Provider

log = logging.getLogger(__name__)

STATE_TTL = 600  # seconds the person has to log in upstream
FEDERATION_PATH = "/oauth2/federation"
CALLBACK_PATH = f"{FEDERATION_PATH}/callback"
# The browser-binding cookie: SameSite=Lax, as the upstream provider sends the browser back by a
# top-level GET; scoped to the federation endpoints.
BROWSER_COOKIE = "motcua_federation"


class FederationFailed(Exception):
    pass


class Upstream:
    """The upstream provider's metadata and keys, fetched once (keys again on an unknown kid)."""

    def __init__(self, issuer: str) -> None:
        self.issuer = issuer
        self._metadata: dict[str, Any] | None = None
        self._keys: KeySet | None = None
        self._lock = threading.Lock()

    def metadata(self) -> dict[str, Any]:
        with self._lock:
            if self._metadata is None:
                document = _get_json(f"{self.issuer}/.well-known/openid-configuration")
                if document.get("issuer") != self.issuer:
                    raise FederationFailed(f"the upstream discovery names issuer {document.get('issuer')!r}")
                self._metadata = document
            return self._metadata

    def keys(self, refresh: bool = False) -> KeySet:
        jwks_uri = self.metadata()["jwks_uri"]
        with self._lock:
            if self._keys is None or refresh:
                # The upstream's JWKS document as served: the library checks each of its keys.
                self._keys = KeySet.import_key_set(cast(KeySetSerialization, _get_json(jwks_uri)))
            return self._keys


def _get_json(url: str) -> dict[str, Any]:
    response = httpx.get(url, timeout=5.0)
    response.raise_for_status()
    return response.json()


class FederatedLogin:
    def __init__(self, provider: Provider, settings: Federation) -> None:
        self.provider = provider
        self.settings = settings
        self.name = settings.name
        self.upstream = Upstream(settings.issuer)
        self.redirect_uri = provider.issuer.rstrip("/") + CALLBACK_PATH

    def routes(self, oidc: OidcRoutes) -> list[Route]:
        self.oidc = oidc
        return [Route("/oauth2/federation/start", self.start, methods=["GET"]),
                Route(CALLBACK_PATH, self.callback, methods=["GET"])]

    def client(self) -> OAuth2Client:
        return OAuth2Client(client_id=self.settings.client_id, client_secret=self.settings.client_secret or None,
                            scope=self.settings.scope, redirect_uri=self.redirect_uri,
                            code_challenge_method="S256", timeout=10.0,
                            token_endpoint_auth_method="client_secret_basic" if self.settings.client_secret
                            else "none")

    async def start(self, request: Request) -> Response:
        oauth_request = await _read(self.provider, request)
        # One secret per browser (kept across logins started in several tabs).
        browser = request.cookies.get(BROWSER_COOKIE) or secrets.token_urlsafe(32)
        response = await run_in_threadpool(self._start, oauth_request, request.url.query, browser)
        if response.status_code == 302:
            response.set_cookie(BROWSER_COOKIE, browser, max_age=STATE_TTL, path=FEDERATION_PATH, httponly=True,
                                samesite="lax", secure=self.provider.config.secure_cookies)
        return response

    def _start(self, oauth_request: HttpRequest, query: str, browser: str) -> Response:
        try:
            self.provider.get_consent_grant(oauth_request, end_user=None)  # never relay a bad request upstream
        except OAuth2Error as error:
            return self.oidc.refuse(oauth_request, error)
        state, nonce, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(32), generate_token(64)
        try:
            endpoint = self.upstream.metadata()["authorization_endpoint"]
        except (httpx.HTTPError, FederationFailed, KeyError, ValueError) as e:
            log.warning("upstream provider unavailable", extra={"error": str(e)})
            return login_page.error_page("Không đăng nhập được", login_page.message("federation_failed"), 502)
        self.provider.store.save_state(state, {"query": query, "nonce": nonce, "verifier": verifier,
                                               "browser": digest(browser)}, STATE_TTL)
        with self.client() as client:
            url, _ = client.create_authorization_url(endpoint, state=state, nonce=nonce, code_verifier=verifier)
        return RedirectResponse(url, status_code=302)

    async def callback(self, request: Request) -> Response:
        return await run_in_threadpool(self._callback, request)

    def _callback(self, request: Request) -> Response:
        data = self.provider.store.take_state(request.query_params.get("state", ""),
                                              request.cookies.get(BROWSER_COOKIE, ""))
        if data is None or "code" not in request.query_params:
            return login_page.error_page("Không đăng nhập được", login_page.message("federation_failed"))
        try:
            claims = self._id_token(request.query_params["code"], data["verifier"], data["nonce"])
        except (OAuth2Error, httpx.HTTPError, JoseError, FederationFailed, KeyError, ValueError) as e:
            log.warning("federated login refused", extra={"error": str(e)})
            return login_page.error_page("Không đăng nhập được", login_page.message("federation_failed"), 401)
        number = str(claims.get(self.settings.pin_claim, "")).strip()
        account = self.provider.accounts.find_account_by_personal_id(number) if number else None
        if account is None:
            return login_page.error_page("Không đăng nhập được", login_page.message("federation_unlinked"), 403)
        query = parse_qsl(data["query"], keep_blank_values=True)
        url = self.provider.issuer.rstrip("/") + "/oauth2/authorize" + (f"?{data['query']}" if data["query"] else "")
        oauth_request = HttpRequest("GET", url, request.headers, query, [], {})
        try:
            grant = self.provider.get_consent_grant(oauth_request, end_user=None)
        except OAuth2Error as error:
            return self.oidc.refuse(oauth_request, error)
        return self.oidc.sign_in(oauth_request, grant, str(account.account_id), ["fed"])

    def _id_token(self, code: str, verifier: str, nonce: str) -> dict[str, Any]:
        with self.client() as client:
            token = client.fetch_token(self.upstream.metadata()["token_endpoint"], code=code,
                                       code_verifier=verifier, redirect_uri=self.redirect_uri)
        id_token = token.get("id_token")
        if not id_token:
            raise FederationFailed("the upstream token response has no id_token")
        try:
            decoded = jwt.decode(id_token, self.upstream.keys(), algorithms=["ES256", "RS256", "PS256"])
        except InvalidKeyIdError:
            decoded = jwt.decode(id_token, self.upstream.keys(refresh=True), algorithms=["ES256", "RS256", "PS256"])
        claims = CodeIDToken(decoded.claims, decoded.header, options={
            "iss": {"essential": True, "value": self.settings.issuer},
            "aud": {"essential": True, "value": self.settings.client_id},
        }, params={"nonce": nonce, "access_token": token.get("access_token")})
        claims.validate(leeway=30)
        return dict(claims)


async def _read(provider: Provider, request: Request) -> HttpRequest:
    return await read(provider, request, with_form=False)
