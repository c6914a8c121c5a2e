"""The OIDC provider as a relying party that shares no code with it sees it: pyoidc (`oic`),
not authlib (which the provider is built on), with its own JOSE library (pyjwkest) checking
the ES256 signatures against the JWKS it found by discovery. Discovery, code + PKCE S256, the
ID token checked by the client, userinfo, refresh rotation, client credentials,
RP-initiated logout ending the session's refresh tokens."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from oic import rndstr
from oic.oauth2.message import CCAccessTokenRequest, ErrorResponse
from oic.oic import Client
from oic.oic.message import AccessTokenResponse, AuthorizationResponse, OpenIDSchema, RegistrationResponse
from oic.utils.authn.client import CLIENT_AUTHN_METHOD

from .oidc_support import (
    OFFICER,
    SERVICE,
    SERVICE_SECRET,
    SPA,
    SPA_LOGOUT,
    SPA_REDIRECT,
    Browser,
    query_of,
    start_behind_gateway,
)


@pytest.fixture(scope="module")
def op(stack, tmp_path_factory):
    started = start_behind_gateway(stack, tmp_path_factory.mktemp("pyoidc"), "motcua_identity_pyoidc")
    yield started
    started.stop()


def relying_party(issuer: str, client_id: str = SPA, **registration) -> Client:
    """A pyoidc client configured by discovery alone, with PKCE S256."""
    client = Client(client_authn_method=CLIENT_AUTHN_METHOD, config={"code_challenge": {"method": "S256"}})
    provider = client.provider_config(issuer)
    assert provider["issuer"] == issuer
    client.store_registration_info(RegistrationResponse(client_id=client_id, **registration))
    return client


def spa(issuer: str) -> Client:
    return relying_party(issuer, redirect_uris=[SPA_REDIRECT], post_logout_redirect_uris=[SPA_LOGOUT],
                         token_endpoint_auth_method="none")


def log_in(client: Client, browser: Browser) -> tuple[str, str, AccessTokenResponse]:
    """Code + PKCE through the login page; returns the state, the nonce and the token response."""
    state, nonce = rndstr(), rndstr()
    challenge, verifier = client.add_code_challenge()
    request = client.construct_AuthorizationRequest(request_args={
        "response_type": "code", "scope": "openid profile email roles offline_access api", "state": state,
        "nonce": nonce, "redirect_uri": SPA_REDIRECT, **challenge})
    back = browser.log_in(request.request(client.authorization_endpoint), OFFICER["login"])
    answer = client.parse_response(AuthorizationResponse, info=urlsplit(back).query, sformat="urlencoded")
    assert isinstance(answer, AuthorizationResponse) and answer["state"] == state
    tokens = client.do_access_token_request(state=state, authn_method="", request_args={
        "code": answer["code"], "code_verifier": verifier, "redirect_uri": SPA_REDIRECT, "client_id": SPA})
    assert isinstance(tokens, AccessTokenResponse), tokens.to_dict()
    return state, nonce, tokens


def test_discovery_code_pkce_refresh_and_logout_with_pyoidc(op):
    client = spa(op.issuer)
    assert client.keyjar.get_verify_key(owner=op.issuer)  # the JWKS, found by discovery
    browser = Browser()
    state, nonce, tokens = log_in(client, browser)
    # pyoidc verified the ID token (signature, iss, aud, exp) while parsing the response.
    id_token = tokens["id_token"]
    assert (id_token["iss"], id_token["aud"], id_token["sub"]) == (op.issuer, [SPA], OFFICER["account_id"])
    assert id_token["nonce"] == nonce and id_token.jws_header["alg"] == "ES256"

    # GET with the Authorization header, as OIDC Core 5.3.1 says a client should.
    info = client.do_user_info_request(method="GET", state=state)
    assert isinstance(info, OpenIDSchema)
    assert (info["sub"], info["name"], info["roles"]) == (OFFICER["account_id"], "Lê Văn Tâm", OFFICER["roles"])

    refreshed = client.do_access_token_refresh(state=state, authn_method="", request_args={"client_id": SPA})
    assert isinstance(refreshed, AccessTokenResponse), refreshed.to_dict()
    assert refreshed["refresh_token"] != tokens["refresh_token"]  # rotated
    assert refreshed["access_token"] != tokens["access_token"]

    # RP-initiated logout in the browser, with the ID token as hint (the login's: the refresh
    # gave none); back to the registered page.
    logout_state = rndstr()
    request = client.construct_EndSessionRequest(state=state, request_args={
        "id_token_hint": id_token.jwt, "post_logout_redirect_uri": SPA_LOGOUT, "state": logout_state})
    ended = browser.open(request.request(client.end_session_endpoint))
    assert ended.status_code == 302 and query_of(ended.headers["location"]) == {"state": logout_state}
    # The session's refresh tokens end with it.
    refused = client.do_access_token_refresh(state=state, authn_method="", request_args={"client_id": SPA})
    assert isinstance(refused, ErrorResponse) and refused["error"] == "invalid_grant", refused.to_dict()


def test_client_credentials_with_pyoidc(op):
    service = relying_party(op.issuer, SERVICE, client_secret=SERVICE_SECRET,
                            token_endpoint_auth_method="client_secret_basic")
    # pyoidc's client-credentials request message asks for `openid` unless told: a scope the
    # service is not registered for is refused, not silently dropped.
    url, body, http_args, _ = service.request_info(CCAccessTokenRequest, authn_method="client_secret_basic",
                                                   authn_endpoint="token", endpoint=service.token_endpoint)
    refused = service.request_and_return(url, AccessTokenResponse, "POST", body, "json", http_args=http_args)
    assert isinstance(refused, ErrorResponse) and refused["error"] == "invalid_scope", refused.to_dict()
    # Sent with its client_secret_basic authentication, for the scope it is registered for.
    url, body, http_args, _ = service.request_info(CCAccessTokenRequest, request_args={"scope": "api"},
                                                   authn_method="client_secret_basic", authn_endpoint="token",
                                                   endpoint=service.token_endpoint)
    tokens = service.request_and_return(url, AccessTokenResponse, "POST", body, "json", http_args=http_args)
    assert isinstance(tokens, AccessTokenResponse), tokens.to_dict()
    assert tokens["token_type"] == "Bearer" and "refresh_token" not in tokens and "id_token" not in tokens
    wrong = relying_party(op.issuer, SERVICE, client_secret="not-the-secret",
                          token_endpoint_auth_method="client_secret_basic")
    url, body, http_args, _ = wrong.request_info(CCAccessTokenRequest, authn_method="client_secret_basic",
                                                 authn_endpoint="token", endpoint=wrong.token_endpoint)
    refused = wrong.request_and_return(url, AccessTokenResponse, "POST", body, "json", http_args=http_args)
    assert isinstance(refused, ErrorResponse) and refused["error"] == "invalid_client", refused.to_dict()
