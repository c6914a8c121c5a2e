"""The provider's HTTP endpoints: discovery, authorize (with the login page), token,
userinfo, revocation, logout, and the federated login's two legs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from authlib.oauth2 import OAuth2Error
from authlib.oidc import rpinitiated
from authlib.oidc.discovery import OpenIDProviderMetadata
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from motcua.kernel.client_address import current_client_address
from motcua.kernel.errors import NotFound
from motcua.kernel.metrics import LOGINS

from . import login_page
from .accounts import ACCOUNT_DISABLED, BAD_CREDENTIALS, BAD_SECOND_FACTOR, LOCKED, MFA_REQUIRED
from .grants import password_generation, user_of
from .models import EndUser
from .server import SESSION_COOKIE, HttpRequest, Provider

LOGIN_REASONS = frozenset({BAD_CREDENTIALS, MFA_REQUIRED, BAD_SECOND_FACTOR, LOCKED, ACCOUNT_DISABLED})

DISCOVERY_PATH = "/.well-known/openid-configuration"


class ProviderMetadata(OpenIDProviderMetadata):
    """authlib's checks of the discovery document but one: OIDC Discovery 1.0 section 3 wants
    RS256 among the ID token algorithms. This provider signs with EC P-256 keys only (ES256,
    as every motcua service verifies), so RS256 is not offered; clients are told ES256."""

    def validate_id_token_signing_alg_values_supported(self) -> None:
        if "ES256" not in self.get("id_token_signing_alg_values_supported", []):
            raise ValueError('"ES256" must be in "id_token_signing_alg_values_supported"')


async def read(provider: Provider, request: Request, with_form: bool = True) -> HttpRequest:
    form: list[tuple[str, str]] = []
    if with_form and request.method == "POST":
        form = [(k, v) for k, v in (await request.form()).multi_items() if isinstance(v, str)]
    query = request.query_params.multi_items()
    # The URL as clients see it (the public issuer, e.g. through the gateway), not this process's.
    url = provider.issuer.rstrip("/") + request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return HttpRequest(request.method, url, request.headers, query, form, dict(request.cookies))


class OidcRoutes:
    def __init__(self, provider: Provider, federation: Any = None) -> None:
        self.provider = provider
        self.federation = federation
        metadata = ProviderMetadata(provider.metadata())
        metadata.validate(metadata_classes=[rpinitiated.OpenIDProviderMetadata])  # authlib's checks, at start
        self.discovery = dict(metadata)

    def routes(self) -> list[Route]:
        routes = [
            Route(DISCOVERY_PATH, self.openid_configuration, methods=["GET"]),
            Route("/oauth2/authorize", self.authorize, methods=["GET", "POST"]),
            Route("/oauth2/token", self.sync(self.provider.create_token_response), methods=["POST"]),
            Route("/oauth2/userinfo", self.sync(lambda r: self.provider.create_endpoint_response("userinfo", r)),
                  methods=["GET", "POST"]),
            Route("/oauth2/revoke", self.sync(lambda r: self.provider.create_endpoint_response("revocation", r)),
                  methods=["POST"]),
            Route("/oauth2/logout", self.logout, methods=["GET", "POST"]),
        ]
        if self.federation is not None:
            routes += self.federation.routes(self)
        return routes

    async def openid_configuration(self, request: Request) -> JSONResponse:
        return JSONResponse(self.discovery, headers={"Cache-Control": "public, max-age=300"})

    def sync(self, handler: Callable[[HttpRequest], Response]) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            return await run_in_threadpool(handler, await read(self.provider, request))
        return endpoint

    # --- authorize ------------------------------------------------------------------------------

    async def authorize(self, request: Request) -> Response:
        oauth_request = await read(self.provider, request, with_form=False)
        if request.method == "GET":
            return await run_in_threadpool(self._show, request, oauth_request)
        form = await request.form()
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        return await run_in_threadpool(self._login, request, oauth_request, fields)

    def _grant(self, oauth_request: HttpRequest, user: EndUser | None) -> Any:
        return self.provider.get_consent_grant(oauth_request, end_user=user)

    def _show(self, request: Request, oauth_request: HttpRequest) -> Response:
        session = self.provider.session_of(oauth_request)
        user = user_of(self.provider, session.account_id, session.session_id, session.auth_time, session.amr) \
            if session else None
        try:
            grant = self._grant(oauth_request, user)
        except OAuth2Error as error:
            return self.refuse(oauth_request, error)
        if user is not None and getattr(grant, "prompt", None) != "login":
            return self.provider.create_authorization_response(oauth_request, grant_user=user, grant=grant)
        return self.page(request, grant)

    def _login(self, request: Request, oauth_request: HttpRequest, fields: dict[str, str]) -> Response:
        try:
            grant = self._grant(oauth_request, None)
        except OAuth2Error as error:
            return self.refuse(oauth_request, error)
        login = fields.get("login", "").strip()
        if not login_page.csrf_valid(request, fields.get(login_page.CSRF_FIELD, "")):
            LOGINS.add(1, {"outcome": "csrf"})
            return self.page(request, grant, login=login, error=login_page.message("csrf"), status=400)
        totp = fields.get("totp", "").strip() or None
        outcome = self.provider.accounts.verify_login(login, fields.get("password", ""), totp,
                                                      current_client_address())
        # The reason, one of the few accounts.py names (never the login typed in).
        LOGINS.add(1, {"outcome": "ok" if outcome.succeeded else (outcome.reason if outcome.reason in LOGIN_REASONS
                                                                   else "other")})
        if not outcome.succeeded:
            ask_totp = outcome.reason in (MFA_REQUIRED, BAD_SECOND_FACTOR)
            return self.page(request, grant, login=login, ask_totp=ask_totp,
                             error=login_page.message(outcome.reason, outcome.locked_until),
                             status=200 if outcome.reason == MFA_REQUIRED else 401)
        amr = ["pwd", "otp", "mfa"] if totp else ["pwd"]
        return self.sign_in(oauth_request, grant, str(outcome.account_id), amr,
                            getattr(outcome, "password_generation", None))

    def sign_in(self, oauth_request: HttpRequest, grant: Any, account_id: str, amr: list[str],
                generation: int | None = None) -> Response:
        """Opens a login session for the account and answers the authorization request.
        ``generation``: the account's password generation when the password was checked (a
        change in between ends the new session at once); else the current one."""
        if generation is None:
            try:
                generation = password_generation(self.provider.accounts.get_account(UUID(account_id)))
            except (NotFound, ValueError):
                generation = 0  # user_of refuses it below
        session, cookie = self.provider.store.open_session(account_id, amr, self.provider.config.session_ttl,
                                                           generation)
        user = user_of(self.provider, account_id, session.session_id, session.auth_time, amr)
        if user is None:
            return login_page.error_page("Không đăng nhập được", login_page.message("account_disabled"), 403)
        response = self.provider.create_authorization_response(oauth_request, grant_user=user, grant=grant)
        response.set_cookie(SESSION_COOKIE, cookie, httponly=True, samesite="lax",
                            secure=self.provider.config.secure_cookies, path="/",
                            max_age=self.provider.config.session_ttl)
        return response

    def page(self, request: Request, grant: Any, **kwargs: Any) -> Response:
        client = grant.request.client
        name = client.client_metadata.get("client_name") or client.client_id
        federation = self.federation.name if self.federation is not None else ""
        return login_page.render(request, client=name, query=request.url.query, csrf=login_page.csrf_token(request),
                                 secure=self.provider.config.secure_cookies, federation=federation, **kwargs)

    def refuse(self, oauth_request: HttpRequest, error: OAuth2Error) -> Response:
        """Back to the client with the error when its redirect URI is known and valid; otherwise
        (unknown client, bad redirect URI) never redirect: say it on a page."""
        if error.redirect_uri:
            return self.provider.handle_error_response(oauth_request, error)
        return login_page.error_page("Yêu cầu đăng nhập không hợp lệ", error.description or error.error)

    # --- logout ---------------------------------------------------------------------------------

    async def logout(self, request: Request) -> Response:
        oauth_request = await read(self.provider, request)
        return await run_in_threadpool(self._logout, request, oauth_request)

    def _logout(self, request: Request, oauth_request: HttpRequest) -> Response:
        try:
            end_session = self.provider.validate_endpoint_request("end_session", oauth_request)
        except OAuth2Error as error:
            return login_page.error_page("Không đăng xuất được", error.description or error.error)
        if end_session.needs_confirmation and not (
                request.method == "POST" and login_page.csrf_valid(request, oauth_request.form.get(
                    login_page.CSRF_FIELD, ""))):
            return self._confirm_logout(request)
        response = self.provider.create_endpoint_response("end_session", end_session) or \
            login_page.error_page("Đã đăng xuất", "Bạn đã đăng xuất khỏi hệ thống.", 200)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    def _confirm_logout(self, request: Request) -> Response:
        csrf = login_page.csrf_token(request)
        query = urlencode(request.query_params.multi_items())
        response = login_page.confirm_logout(query, csrf, self.provider.config.secure_cookies)
        return response
