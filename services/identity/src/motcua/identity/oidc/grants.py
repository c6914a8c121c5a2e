"""authlib's grants and endpoints, filled in with the provider's storage and accounts.

Each class only says where things are kept or found; the protocol rules (parameters,
redirect URIs, PKCE, nonce, prompt, client authentication) are authlib's.
"""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, Any
from uuid import UUID

from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import InvalidRequestError
from authlib.oauth2.rfc6750.errors import InvalidTokenError
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc9068 import JWTBearerTokenValidator
from authlib.oidc.core import OpenIDCode, UserInfo, UserInfoEndpoint
from authlib.oidc.rpinitiated import EndSessionEndpoint

from motcua.kernel.errors import NotFound

from .clients import Client
from .models import EndUser, StoredCode, StoredRefreshToken
from .store import Code

if TYPE_CHECKING:
    from .server import Provider

SECRET_METHODS = ["client_secret_basic", "client_secret_post"]
ALL_METHODS = [*SECRET_METHODS, "none"]


def _provider(grant: Any) -> Provider:
    return grant.server


def user_of(provider: Provider, account_id: str, session_id: UUID | None, auth_time: int,
            amr: list[str] | tuple[str, ...]) -> EndUser | None:
    """The person, as they are now (roles may have changed since the login); None when the
    account is gone or no longer active, or the login session has ended."""
    try:
        account = provider.accounts.get_account(UUID(account_id))
    except (NotFound, ValueError):
        return None
    if getattr(account, "state", "active") != "active":
        return None
    if session_id is not None and not provider.store.session_active(session_id):
        return None
    return EndUser(account, session_id, auth_time, tuple(amr))


class AuthorizationCode(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ALL_METHODS  # "none": public clients, bound by PKCE instead

    def save_authorization_code(self, code: str, request: Any) -> None:
        user: EndUser = request.user
        data = request.payload.data
        record = Code(
            family_id=uuid.uuid4(), client_id=request.client.client_id, session_id=user.session_id,
            account_id=user.subject, redirect_uri=request.payload.redirect_uri or "", scope=request.scope or "",
            nonce=data.get("nonce"), code_challenge=data.get("code_challenge"),
            code_challenge_method=data.get("code_challenge_method"), auth_time=user.auth_time, amr=list(user.amr))
        _provider(self).store.save_code(code, record, _provider(self).config.code_ttl)

    def query_authorization_code(self, code: str, client: Client) -> StoredCode | None:
        record = _provider(self).store.redeem_code(code, client.client_id)
        return StoredCode(record) if record else None

    def delete_authorization_code(self, authorization_code: StoredCode) -> None:
        pass  # spent when redeemed (store.redeem_code)

    def authenticate_user(self, authorization_code: StoredCode) -> EndUser | None:
        r = authorization_code.record
        return user_of(_provider(self), r.account_id, r.session_id, r.auth_time, r.amr)


class S256Challenge(CodeChallenge):
    """PKCE with S256 only, and required of public clients from the authorization request on."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if grant.request.client.public and not data.get("code_challenge"):
            raise InvalidRequestError("A public client must use PKCE: 'code_challenge' is required.")
        if data.get("code_challenge") and data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("'code_challenge_method' must be S256.")
        super().validate_code_challenge(grant, redirect_uri)

    def get_authorization_code_challenge(self, authorization_code: StoredCode) -> str | None:
        return authorization_code.record.code_challenge

    def get_authorization_code_challenge_method(self, authorization_code: StoredCode) -> str | None:
        return authorization_code.record.code_challenge_method


class IdToken(OpenIDCode):
    """The ID token of the code flow: ES256 with the active key, typ JWT, aud = client_id."""

    def __init__(self, provider: Provider) -> None:
        super().__init__(require_nonce=False)
        self.provider = provider

    def exists_nonce(self, nonce: str, request: Any) -> bool:
        return self.provider.store.nonce_used(request.payload.client_id, nonce)

    def resolve_client_private_key(self, client: Client) -> Any:
        return self.provider.keys.active

    def get_client_algorithm(self, client: Client) -> str:
        return "ES256"

    def get_encode_header(self, client: Client) -> dict[str, str]:
        return {"alg": "ES256", "kid": self.provider.keys.key_id(self.provider.keys.active)}

    def get_client_claims(self, client: Client) -> dict[str, Any]:
        now = int(time.time())
        return {"iss": self.provider.issuer, "aud": client.client_id, "iat": now,
                "exp": now + self.provider.config.id_token_ttl}

    def get_compatible_claims(self, request: Any) -> dict[str, Any]:
        claims = super().get_compatible_claims(request)
        if request.user.session_id is not None:
            claims["sid"] = str(request.user.session_id)  # what RP-initiated logout ends
        return claims

    def generate_user_info(self, user: EndUser, scope: str) -> UserInfo:
        return self.provider.user_info(user, scope)


class RefreshToken(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ALL_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True  # rotation: every use gives a new one, the old one is spent

    def authenticate_refresh_token(self, refresh_token: str) -> StoredRefreshToken | None:
        record = _provider(self).store.use_refresh_token(refresh_token, self.request.client.client_id)
        return StoredRefreshToken(record) if record else None

    def authenticate_user(self, refresh_token: StoredRefreshToken) -> EndUser | None:
        r = refresh_token.record
        return user_of(_provider(self), r.account_id, r.session_id, r.auth_time, ())

    def revoke_old_credential(self, refresh_token: StoredRefreshToken) -> None:
        pass  # spent when used (store.use_refresh_token)


class ClientCredentials(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = SECRET_METHODS


class Revocation(RevocationEndpoint):
    """RFC 7009. A refresh token is revoked with its whole family (every token rotated from
    the same login). Access tokens are self-contained JWTs every service verifies alone:
    they cannot be recalled and simply expire (they are short-lived); the answer is 200 as
    the RFC asks."""

    CLIENT_AUTH_METHODS = ALL_METHODS

    def authenticate_token(self, request: Any, client: Client) -> StoredRefreshToken | None:
        self.check_params(request, client)
        record = self.server.store.find_refresh_token(request.form["token"], client.client_id)
        return StoredRefreshToken(record) if record else None

    def revoke_token(self, token: StoredRefreshToken, request: Any) -> None:
        self.server.store.revoke_family(token.record.family_id)


class EndSession(EndSessionEndpoint):
    def get_server_jwks(self) -> dict:
        return self.server.keys.jwks()

    def get_algorithms(self) -> list[str]:
        return ["ES256"]

    def end_session(self, end_session_request: Any) -> None:
        claims = end_session_request.id_token_claims or {}
        sid = claims.get("sid")
        session = self.server.session_of(end_session_request.request)
        if session is not None and (not sid or sid == str(session.session_id)):
            self.server.store.end_session(session.session_id)
        if sid:
            try:
                self.server.store.end_session(UUID(sid))
            except ValueError:
                pass


class AccessTokenValidator(JWTBearerTokenValidator):
    """The provider's own at+jwt, as the userinfo endpoint accepts them."""

    def __init__(self, provider: Provider) -> None:
        super().__init__(issuer=provider.issuer, resource_server=provider.audience)
        self.provider = provider

    def get_jwks(self) -> Any:
        return self.provider.public_keys

    def authenticate_token(self, token_string: str) -> Any:
        claims = super().authenticate_token(token_string)
        if claims.header.get("alg") != "ES256" or str(claims.header.get("typ", "")).lower() != "at+jwt":
            raise InvalidTokenError(realm=self.realm)
        return claims


class Userinfo(UserInfoEndpoint):
    def __call__(self, request: Any) -> tuple[int, Any, list[tuple[str, str]]]:
        token = self.resource_protector.validate_request(["openid"], request)
        user = user_of(self.server, str(token["sub"]), None, int(token.get("auth_time", 0)), ())
        if user is None:
            raise InvalidTokenError()
        return 200, dict(self.server.user_info(user, str(token.get("scope", "")))), \
            [("Content-Type", "application/json"), ("Cache-Control", "no-store")]
