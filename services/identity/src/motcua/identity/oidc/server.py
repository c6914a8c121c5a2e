"""The OIDC provider: authlib's AuthorizationServer on Starlette.

authlib has no Starlette server integration; this is one, after its Flask integration:
``HttpRequest`` carries what was read from the Starlette request (authlib is synchronous;
the endpoints read the body, then call authlib in the thread pool), and ``handle_response``
turns authlib's (status, body, headers) into a Starlette response.
"""

from __future__ import annotations

import json
import secrets
from collections import defaultdict
from typing import Any

from authlib.oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import OAuth2Request, ResourceProtector
from authlib.oauth2.rfc6749.requests import JsonPayload, JsonRequest, OAuth2Payload
from authlib.oidc.core import UserInfo
from joserfc.jwk import KeySet
from starlette.responses import Response

from motcua.kernel.auth import API_SCOPE
from motcua.kernel.config import AuthSettings

from ..keys import SigningKeys
from ..tokens import TokenIssuer
from .accounts import AccountDirectory
from .clients import Client
from .config import OidcConfig
from .grants import (
    AccessTokenValidator,
    AuthorizationCode,
    ClientCredentials,
    EndSession,
    IdToken,
    RefreshToken,
    Revocation,
    S256Challenge,
    Userinfo,
)
from .models import EndUser
from .store import OidcStore, RefreshToken as RefreshRecord, Session

SESSION_COOKIE = "motcua_session"
# Scopes beyond OIDC's own: `api` (access tokens the motcua services accept, clients.py),
# `roles` (roles and agency in userinfo), `personal_id` (the citizen's personal identification
# number, asked by relying parties that must know it).
SCOPES = ["openid", "profile", "email", "phone", "roles", "personal_id", "offline_access", API_SCOPE]


class _Payload(OAuth2Payload):
    def __init__(self, items: list[tuple[str, str]]) -> None:
        self._data: dict[str, str] = {}
        self._datalist: defaultdict[str, list] = defaultdict(list)
        for key, value in items:
            self._data.setdefault(key, value)
            self._datalist[key].append(value)

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list]:
        return self._datalist

    def discard(self, key: str) -> None:
        """Forgets a parameter (an untrusted logout hint is treated as absent)."""
        self._data.pop(key, None)
        self._datalist.pop(key, None)


class HttpRequest(OAuth2Request):
    """A Starlette request as authlib reads it: the query and the form already parsed."""

    def __init__(self, method: str, url: str, headers: Any, query: list[tuple[str, str]],
                 form: list[tuple[str, str]], cookies: dict[str, str]) -> None:
        super().__init__(method=method, uri=url, headers=headers)
        self._args = dict(query)
        self._form = dict(form)
        self.cookies = cookies
        self.payload = _Payload([*query, *form])  # as Flask's request.values

    @property
    def args(self) -> dict[str, str]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form


class _JsonRequest(JsonRequest):
    def __init__(self, request: HttpRequest) -> None:
        super().__init__(request.method, request.uri, request.headers)
        self.payload = JsonPayload()


class Provider(AuthorizationServer):
    def __init__(self, config: OidcConfig, store: OidcStore, accounts: AccountDirectory, keys: SigningKeys,
                 auth: AuthSettings, token_ttl: int) -> None:
        super().__init__(scopes_supported=SCOPES)
        self.config = config
        self.store = store
        self.accounts = accounts
        self.keys = keys
        self.issuer = auth.issuer
        self.audience = auth.audience
        self.tokens = TokenIssuer(keys, auth)
        self.token_ttl = token_ttl
        self.public_keys = KeySet.import_key_set(keys.jwks())
        self.register_token_generator("default", self._generate_token)
        self.register_grant(AuthorizationCode, [S256Challenge(required=True), IdToken(self)])
        self.register_grant(RefreshToken)
        self.register_grant(ClientCredentials)
        self.register_endpoint(Revocation)
        self.register_endpoint(EndSession)
        protector = ResourceProtector()
        protector.register_token_validator(AccessTokenValidator(self))
        self.register_endpoint(Userinfo(resource_protector=protector))

    # --- what authlib asks of a server --------------------------------------------------------

    def query_client(self, client_id: str) -> Client | None:
        return self.store.client(client_id)

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        refresh = token.get("refresh_token")
        if not refresh:
            return
        user: EndUser = request.user
        previous = request.refresh_token.record if request.refresh_token is not None else None
        family = previous.family_id if previous else request.authorization_code.record.family_id
        record = RefreshRecord(family_id=family, client_id=request.client.client_id, session_id=user.session_id,
                               account_id=user.subject, scope=token.get("scope", ""), auth_time=user.auth_time)
        self.store.save_refresh_token(refresh, record, self.config.refresh_ttl)

    def create_oauth2_request(self, request: Any) -> OAuth2Request:
        return request

    def create_json_request(self, request: Any) -> JsonRequest:
        return _JsonRequest(request)

    def handle_response(self, status: int, body: Any, headers: Any) -> Response:
        headers = dict(headers or [])
        if isinstance(body, dict):
            headers.setdefault("Content-Type", "application/json")
            body = json.dumps(body, ensure_ascii=False)
        return Response(body or b"", status_code=status, headers=headers)

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        pass

    # --- tokens ---------------------------------------------------------------------------------

    def _generate_token(self, grant_type: str, client: Client, user: EndUser | None = None, scope: str | None = None,
                        expires_in: int | None = None, include_refresh_token: bool = True) -> dict[str, Any]:
        """The at+jwt access token, RFC 9068 claims added: ``client_id``, ``scope`` and the
        audience the scope earns (see ``audience_of``)."""
        # No scope asked: all the client may have; asked (or granted earlier, on refresh): only
        # what its registration still allows.
        scope = client.get_allowed_scope(scope) if scope is None else client.allowed_part(scope)
        ttl = expires_in or self.token_ttl
        extra: dict[str, Any] = {"client_id": client.client_id, "scope": scope}
        audience = self.audience_of(client, scope)
        if user is None:  # a service as itself (client credentials)
            issued = self.tokens.issue(client.client_id, client.roles, client.agency_id, ttl=ttl, extra=extra,
                                       audience=audience)
        else:
            extra["auth_time"] = user.auth_time
            if user.session_id is not None:
                extra["sid"] = str(user.session_id)
            account = user.account
            # Real accounts carry their grants, each with its agency (development-file accounts:
            # their roles at their agency).
            issued = self.tokens.issue(user.subject, list(account.roles), account.agency_id, account.display_name,
                                       ttl=ttl, extra=extra, audience=audience,
                                       grants=getattr(account, "grants", None))
        token = {"token_type": "Bearer", "access_token": issued.access_token, "expires_in": ttl}
        if scope:
            token["scope"] = scope
        if include_refresh_token and user is not None:
            token["refresh_token"] = secrets.token_urlsafe(48)
        return token

    def audience_of(self, client: Client, scope: str) -> str | list[str]:
        """The API (the client's audience) only with the ``api`` scope, so that a client
        registered without it never holds a token the services accept; the issuer (userinfo)
        with ``openid``."""
        granted = scope.split()
        audience = [client.audience or self.audience] if API_SCOPE in granted else []
        if "openid" in granted or not audience:
            audience.append(self.issuer)
        return audience[0] if len(audience) == 1 else audience

    def user_info(self, user: EndUser, scope: str) -> UserInfo:
        account = user.account
        claims = UserInfo(sub=user.subject, name=account.display_name, email=account.email or None,
                          phone_number=account.phone or None).filter(scope)
        claims["sub"] = user.subject
        granted = scope.split()
        if "roles" in granted:
            claims["roles"] = list(account.roles)
            if account.agency_id:
                claims["agency_id"] = account.agency_id
        if "personal_id" in granted and account.personal_id_number:
            claims["personal_id_number"] = account.personal_id_number
        return UserInfo({k: v for k, v in claims.items() if v is not None})

    # --- sessions -------------------------------------------------------------------------------

    def session_of(self, request: HttpRequest) -> Session | None:
        cookie = request.cookies.get(SESSION_COOKIE, "")
        return self.store.session_by_cookie(cookie) if cookie else None

    def metadata(self) -> dict[str, Any]:
        base = self.issuer.rstrip("/")
        document = {
            "issuer": self.issuer,
            "authorization_endpoint": f"{base}/oauth2/authorize",
            "token_endpoint": f"{base}/oauth2/token",
            "userinfo_endpoint": f"{base}/oauth2/userinfo",
            "jwks_uri": f"{base}/.well-known/jwks.json",
            "revocation_endpoint": f"{base}/oauth2/revoke",
            "end_session_endpoint": f"{base}/oauth2/logout",
            "scopes_supported": SCOPES,
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["ES256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "sid", "amr", "name",
                                 "email", "phone_number", "roles", "agency_id", "personal_id_number"],
            "ui_locales_supported": ["vi"],
        }
        return document
