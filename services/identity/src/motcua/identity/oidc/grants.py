"""authlib's grants and endpoints, filled in with the provider's storage and accounts.

Each class only says where things are kept or found; the protocol rules (parameters,
redirect URIs, PKCE, nonce, prompt, client authentication) are authlib's.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from uuid import UUID

from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import InvalidRequestError, InvalidScopeError
from authlib.oauth2.rfc6750.errors import InvalidTokenError
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc9068 import JWTBearerTokenValidator
from authlib.oidc.core import OpenIDCode, UserInfo, UserInfoEndpoint
from authlib.oidc.rpinitiated import EndSessionEndpoint, EndSessionRequest
from joserfc import jwt
from joserfc.errors import JoseError

from motcua.kernel.errors import NotFound

from .clients import Client
from .models import EndUser, StoredCode, StoredRefreshToken
from .store import Code, Session

if TYPE_CHECKING:  # only a type: the provider (server) imports this module for its grants
    from .server import Provider

SECRET_METHODS = ["client_secret_basic", "client_secret_post"]
ALL_METHODS = [*SECRET_METHODS, "none"]


def _provider(grant: Any) -> Provider:
    return grant.server


def password_generation(account: Any) -> int:
    """How many times the account's password was changed or reset (accounts from a
    development file have none)."""
    return int(getattr(account, "password_generation", 0))


def user_of(provider: Provider, account_id: str, session_id: UUID | None, auth_time: int,
            amr: list[str] | tuple[str, ...]) -> EndUser | None:
    """The person, as they are now (roles may have changed since the login); None when the
    account is gone or no longer active, or the login session has ended — as it does when the
    password was changed or reset since the login (the store ends it, with its refresh tokens)."""
    try:
        account = provider.accounts.get_account(UUID(account_id))
    except (NotFound, ValueError):
        return None
    if getattr(account, "state", "active") != "active":
        return None
    if session_id is not None and not provider.store.session_active(session_id, password_generation(account)):
        return None
    return EndUser(account, session_id, auth_time, tuple(amr))


class ClientScopes:
    """RFC 6749 3.3: a scope the client is not registered for is refused (``invalid_scope``),
    not silently dropped, so that a client learns at once what it cannot have."""

    def validate_requested_scope(self) -> None:
        scope = self.request.payload.scope  # type: ignore[attr-defined]
        self.server.validate_requested_scope(scope)  # type: ignore[attr-defined]
        if scope and not self.request.client.allows_scope(scope):  # type: ignore[attr-defined]
            raise InvalidScopeError(f"The client may not ask for the scope '{scope}'.")


class AuthorizationCode(ClientScopes, grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ALL_METHODS  # "none": public clients, bound by PKCE instead

    def save_authorization_code(self, code: str, request: Any) -> None:
        user: EndUser = request.user
        if user.session_id is None:  # never: the authorization endpoint's user is a login session's
            raise ValueError("an authorization code needs the login session it comes from")
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
        """The live token of a person who may still have it: not when the account was disabled
        or its password changed since the login (``invalid_grant``, RFC 6749 5.2)."""
        provider = _provider(self)
        record = provider.store.use_refresh_token(refresh_token, self.request.client.client_id)
        if record is None:
            return None
        if user_of(provider, record.account_id, record.session_id, record.auth_time, ()) is None:
            provider.store.revoke_family(record.family_id)
            return None
        return StoredRefreshToken(record)

    def authenticate_user(self, refresh_token: StoredRefreshToken) -> EndUser | None:
        r = refresh_token.record
        return user_of(_provider(self), r.account_id, r.session_id, r.auth_time, ())

    def revoke_old_credential(self, refresh_token: StoredRefreshToken) -> None:
        pass  # spent when used (store.use_refresh_token)


class ClientCredentials(ClientScopes, grants.ClientCredentialsGrant):
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


@dataclass
class LogoutRequest(EndSessionRequest):
    """authlib's validated logout request, and whether the browser's own login session is the
    one the ID token hint names."""

    hinted_session: bool = False

    @property
    def needs_confirmation(self) -> bool:
        # RP-Initiated Logout 1.0 section 6: a logout not asked by the client holding this very
        # session's ID token may come from anywhere (a link on another site): the person confirms.
        return not self.hinted_session


class EndSession(EndSessionEndpoint):
    """Logout asked by a client. The ``id_token_hint`` counts only when it is an ID token of this
    provider (signature, issuer, not an access token) for a registered client (and the
    ``client_id`` given, if any); another hint is ignored as if absent, so the person is asked
    and never sent to a post-logout URI. Even a valid hint skips the confirmation only for the
    browser session it names (``sid`` and ``sub``), or when the browser has no session to end.
    Only the browser's own session ends: a hint never ends another browser's."""

    def get_server_jwks(self) -> dict:
        return self.server.keys.jwks()

    def get_algorithms(self) -> list[str]:
        return ["ES256"]

    def validate_request(self, request: Any) -> LogoutRequest:
        hint = request.payload.data.get("id_token_hint")
        claims = self._trusted_hint(hint, request.payload.data.get("client_id")) if hint else None
        if hint and claims is None:
            request.payload.discard("id_token_hint")
        validated = super().validate_request(request)
        session = self.server.session_of(request)
        hinted = claims is not None and (session is None or _names_session(claims, session))
        return LogoutRequest(request=validated.request, client=validated.client,
                             id_token_claims=validated.id_token_claims, redirect_uri=validated.redirect_uri,
                             logout_hint=validated.logout_hint, ui_locales=validated.ui_locales,
                             hinted_session=hinted)

    def _trusted_hint(self, hint: str, client_id: str | None) -> dict[str, Any] | None:
        try:
            decoded = jwt.decode(hint, self.server.public_keys, algorithms=self.get_algorithms())
        except (JoseError, ValueError, TypeError):
            return None
        claims = decoded.claims
        if str(decoded.header.get("typ", "JWT")).lower() in ("at+jwt", "application/at+jwt"):
            return None  # an access token, signed with the same keys, is no ID token
        audience = claims.get("aud")
        if claims.get("iss") != self.server.issuer or not isinstance(audience, str) or not claims.get("sub"):
            return None
        if client_id and client_id != audience:
            return None
        if self.server.query_client(audience) is None:
            return None  # a client since removed, or never registered
        return claims

    def end_session(self, end_session_request: Any) -> None:
        session = self.server.session_of(end_session_request.request)
        if session is not None:
            self.server.store.end_session(session.session_id)


def _names_session(claims: dict[str, Any], session: Session) -> bool:
    return claims.get("sid") == str(session.session_id) and claims.get("sub") == session.account_id


class AccessTokenValidator(JWTBearerTokenValidator):
    """The provider's own at+jwt, as the userinfo endpoint accepts them."""

    def __init__(self, provider: Provider) -> None:
        # The provider's own resource (userinfo): tokens with the openid scope carry the issuer
        # in their audience (Provider.audience_of).
        super().__init__(issuer=provider.issuer, resource_server=provider.issuer)
        self.provider = provider

    def get_jwks(self) -> Any:
        return self.provider.public_keys

    def authenticate_token(self, token_string: str) -> Any:
        claims = super().authenticate_token(token_string)
        if claims.header.get("alg") != "ES256" or str(claims.header.get("typ", "")).lower() != "at+jwt":
            raise InvalidTokenError(realm=self.realm)
        if self.provider.query_client(str(claims.get("client_id", ""))) is None:
            raise InvalidTokenError(realm=self.realm)  # the client was removed since
        return claims


class Userinfo(UserInfoEndpoint):
    def __call__(self, request: Any) -> tuple[int, Any, list[tuple[str, str]]]:
        token = self.resource_protector.validate_request(["openid"], request)
        # The token's login session must go on (not logged out, no password change since).
        try:
            session_id = UUID(str(token["sid"])) if token.get("sid") else None
        except ValueError:
            raise InvalidTokenError() from None
        user = user_of(self.server, str(token["sub"]), session_id, int(token.get("auth_time", 0)), ())
        if user is None:
            raise InvalidTokenError()
        return 200, dict(self.server.user_info(user, str(token.get("scope", "")))), \
            [("Content-Type", "application/json"), ("Cache-Control", "no-store")]
