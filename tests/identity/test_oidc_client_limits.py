"""What an OIDC client may hold, against real processes (identity behind the gateway, a
procedures service trusting it): access tokens carry the client's scope and audience and the
services accept only those with the `api` scope; scopes a client is not registered for are
`invalid_scope`; a logout hint counts only when it is this provider's ID token, for a
registered client, naming the browser's own session; a client removed from the configuration
stops working after the restart, its refresh tokens and its access tokens at userinfo too."""

from __future__ import annotations

import base64
import time
import uuid
from pathlib import Path

import grpc
import httpx2
import pytest
from authlib.integrations.base_client import OAuthError
from authlib.integrations.httpx_client import OAuth2Client
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet

from tests.support.clients import procedures_stub
from tests.support.procedures import create_request

from .oidc_support import (
    CLIENTS,
    OFFICER,
    SERVICE,
    SERVICE_SECRET,
    SPA,
    SPA_LOGOUT,
    SPA_REDIRECT,
    Browser,
    LoginForm,
    query_of,
    start_behind_gateway,
    start_identity,
    write_json,
)

LOGIN_ONLY = "test-login-only"  # signs people in; may not call the API
REPORTING = "test-reporting"  # a service client without the API scope
REPORTING_SECRET = "another-long-random-secret-for-tests"
LIMITED_CLIENTS = [
    *CLIENTS,
    {"client_id": LOGIN_ONLY, "token_endpoint_auth_method": "none", "grant_types": ["authorization_code"],
     "redirect_uris": [SPA_REDIRECT], "post_logout_redirect_uris": [SPA_LOGOUT], "scope": "openid profile"},
    {"client_id": REPORTING, "client_secret": REPORTING_SECRET, "token_endpoint_auth_method": "client_secret_basic",
     "grant_types": ["client_credentials"], "scope": "", "roles": ["administrator"], "agency_id": "000.00.10.H56"},
]
CONFIRM_LOGOUT = "Bạn có muốn đăng xuất khỏi hệ thống không?"


@pytest.fixture(scope="module")
def op(stack, tmp_path_factory):
    started = start_behind_gateway(stack, tmp_path_factory.mktemp("limits"), "motcua_identity_oidc_limits",
                                   clients=LIMITED_CLIENTS)
    yield started
    started.stop()


@pytest.fixture(scope="module")
def discovery(op) -> dict:
    return op.discovery()


def keys_of(discovery) -> KeySet:
    return KeySet.import_key_set(httpx2.get(discovery["jwks_uri"], trust_env=False).json())


def claims_of(discovery, token: str) -> dict:
    return jwt.decode(token, keys_of(discovery), algorithms=["ES256"]).claims


def public_client(client_id: str, scope: str) -> OAuth2Client:
    return OAuth2Client(client_id=client_id, token_endpoint_auth_method="none", redirect_uri=SPA_REDIRECT,
                        scope=scope, code_challenge_method="S256", trust_env=False)


def log_in(discovery, browser: Browser, client_id: str = SPA,
           scope: str = "openid profile offline_access api") -> tuple[OAuth2Client, dict]:
    """Code + PKCE; the browser logs in with the form, or its open session answers at once."""
    client = public_client(client_id, scope)
    verifier = base64.urlsafe_b64encode(uuid.uuid4().bytes * 3).decode().rstrip("=")
    url, _ = client.create_authorization_url(discovery["authorization_endpoint"], code_verifier=verifier,
                                             nonce=uuid.uuid4().hex)
    answer = browser.open(url)
    back = answer.headers["location"] if answer.status_code == 302 else browser.log_in(url, OFFICER["login"])
    return client, client.fetch_token(discovery["token_endpoint"], authorization_response=back,
                                      code_verifier=verifier)


def signed_in(discovery, browser: Browser) -> bool:
    """Whether the browser's session still answers an authorization request without the form."""
    url, _ = public_client(SPA, "openid").create_authorization_url(discovery["authorization_endpoint"],
                                                                    code_verifier="k" * 50)
    answer = browser.open(url)
    assert answer.status_code in (200, 302), answer.text
    return answer.status_code == 302


def create_procedure(op, access_token: str) -> grpc.StatusCode:
    try:
        procedures_stub(op.procedures.addr, access_token).CreateProcedure(
            create_request(name="Cấp phép xây dựng", agency_id="000.00.10.H56")
        )
    except grpc.RpcError as error:
        return error.code()
    return grpc.StatusCode.OK


def provider_key(op) -> ECKey:
    return ECKey.import_key(next((Path(op.identity.env["MOTCUA_IDENTITY_DIR"]) / "keys").glob("*.pem")).read_bytes())


def userinfo_status(discovery, token: str) -> int:
    return httpx2.get(discovery["userinfo_endpoint"], trust_env=False,
                      headers={"Authorization": f"Bearer {token}"}).status_code


# --- scope and audience -------------------------------------------------------------------------


def test_a_client_with_the_api_scope_gets_a_token_for_the_api_and_userinfo(op, discovery):
    _, token = log_in(discovery, Browser())
    claims = claims_of(discovery, token["access_token"])
    assert claims["client_id"] == SPA and claims["scope"] == "openid profile offline_access api"
    assert claims["aud"] == ["motcua", op.issuer]
    assert create_procedure(op, token["access_token"]) == grpc.StatusCode.OK
    assert userinfo_status(discovery, token["access_token"]) == 200


def test_a_client_without_the_api_scope_gets_tokens_no_service_accepts(op, discovery):
    _, token = log_in(discovery, Browser(), LOGIN_ONLY, "openid profile")
    claims = claims_of(discovery, token["access_token"])
    assert (claims["client_id"], claims["scope"], claims["aud"]) == (LOGIN_ONLY, "openid profile", op.issuer)
    assert create_procedure(op, token["access_token"]) == grpc.StatusCode.UNAUTHENTICATED
    rest = httpx2.get(f"{op.issuer}/v1/procedures", trust_env=False,
                      headers={"Authorization": f"Bearer {token['access_token']}"})
    assert rest.status_code == 401
    assert userinfo_status(discovery, token["access_token"]) == 200  # what it is for

    # A service client without the API scope: the same.
    reporting = OAuth2Client(client_id=REPORTING, client_secret=REPORTING_SECRET, trust_env=False)
    service_token = reporting.fetch_token(discovery["token_endpoint"], grant_type="client_credentials")
    assert claims_of(discovery, service_token["access_token"])["aud"] == op.issuer
    assert create_procedure(op, service_token["access_token"]) == grpc.StatusCode.UNAUTHENTICATED


def test_a_token_of_a_client_naming_the_api_audience_without_the_api_scope_is_refused(op):
    # Signed by the provider itself: only the kernel's scope check stands in the way.
    key = provider_key(op)
    now = int(time.time())
    claims = {"iss": op.issuer, "sub": OFFICER["account_id"], "aud": "motcua", "client_id": LOGIN_ONLY, "iat": now,
              "exp": now + 600, "jti": uuid.uuid4().hex, "roles": ["administrator"], "agency_id": "000.00.10.H56"}
    header = {"alg": "ES256", "typ": "at+jwt", "kid": key.thumbprint()}
    assert create_procedure(op, jwt.encode(header, {**claims, "scope": "openid profile"}, key)) \
        == grpc.StatusCode.UNAUTHENTICATED
    assert create_procedure(op, jwt.encode(header, claims, key)) == grpc.StatusCode.UNAUTHENTICATED
    assert create_procedure(op, jwt.encode(header, {**claims, "scope": "openid api"}, key)) == grpc.StatusCode.OK


def test_a_scope_the_client_is_not_registered_for_is_invalid_scope(discovery):
    browser = Browser()
    for scope in ("openid api", "openid made-up"):
        url, _ = public_client(LOGIN_ONLY, scope).create_authorization_url(discovery["authorization_endpoint"],
                                                                            code_verifier="q" * 50)
        refused = browser.open(url)
        assert refused.status_code == 302 and refused.headers["location"].startswith(SPA_REDIRECT)
        assert query_of(refused.headers["location"])["error"] == "invalid_scope"
    reporting = OAuth2Client(client_id=REPORTING, client_secret=REPORTING_SECRET, scope="api", trust_env=False)
    with pytest.raises(OAuthError) as refused_service:
        reporting.fetch_token(discovery["token_endpoint"], grant_type="client_credentials")
    assert refused_service.value.error == "invalid_scope"
    # A scope within the registration is fine, and only what was asked is granted.
    service = OAuth2Client(client_id=SERVICE, client_secret=SERVICE_SECRET, scope="api", trust_env=False)
    granted = service.fetch_token(discovery["token_endpoint"], grant_type="client_credentials")
    assert granted["scope"] == "api"


# --- RP-initiated logout
# ---------------------------------------------------------------------------


def logout(discovery, browser: Browser, **params: str) -> httpx2.Response:
    return browser.open(discovery["end_session_endpoint"] + "?" + str(httpx2.QueryParams(params)))


def asks_to_confirm(response: httpx2.Response) -> bool:
    return response.status_code == 200 and CONFIRM_LOGOUT in response.text and "location" not in response.headers


def test_a_logout_hint_that_is_forged_foreign_or_not_an_id_token_asks_first(op, discovery):
    browser = Browser()
    _, token = log_in(discovery, browser)
    id_claims = claims_of(discovery, token["id_token"])
    id_header = jwt.decode(token["id_token"], keys_of(discovery), algorithms=["ES256"]).header
    key = provider_key(op)
    hints = {
        "signed by another key": jwt.encode(id_header, id_claims, ECKey.generate_key("P-256")),
        "an access token": token["access_token"],
        "for an unregistered client": jwt.encode(id_header, {**id_claims, "aud": "nobody"}, key),
        "of another issuer": jwt.encode(id_header, {**id_claims, "iss": "https://evil.example"}, key),
    }
    for what, hint in hints.items():
        answer = logout(discovery, browser, id_token_hint=hint, post_logout_redirect_uri=SPA_LOGOUT)
        assert asks_to_confirm(answer), what
        assert signed_in(discovery, browser), what
    # A real ID token of another registered client, with this client's id.
    _, other = log_in(discovery, browser, LOGIN_ONLY, "openid")
    answer = logout(discovery, browser, id_token_hint=other["id_token"], client_id=SPA,
                    post_logout_redirect_uri=SPA_LOGOUT)
    assert asks_to_confirm(answer) and signed_in(discovery, browser)

    # Confirmed: this browser's session ends, but no redirect on the strength of a forged hint.
    confirm = LoginForm(logout(discovery, browser, id_token_hint=hints["signed by another key"],
                               post_logout_redirect_uri=SPA_LOGOUT))
    done = browser.submit(confirm)
    assert done.status_code == 200 and "location" not in done.headers
    assert not signed_in(discovery, browser)


def test_a_valid_hint_of_another_session_asks_first_and_never_ends_that_session(discovery):
    mine, theirs = Browser(), Browser()
    log_in(discovery, mine)
    _, their_token = log_in(discovery, theirs)
    answer = logout(discovery, mine, id_token_hint=their_token["id_token"], post_logout_redirect_uri=SPA_LOGOUT,
                    state="x")
    assert asks_to_confirm(answer)
    done = mine.submit(LoginForm(answer))
    # The hint is genuine: after the confirmation the client's registered page is fine.
    assert done.status_code == 302 and done.headers["location"] == SPA_LOGOUT + "?state=x"
    assert not signed_in(discovery, mine)
    assert signed_in(discovery, theirs)  # the hint's session is not this browser's to end
    # Its own hint logs the other browser out without a question.
    own = logout(discovery, theirs, id_token_hint=their_token["id_token"], post_logout_redirect_uri=SPA_LOGOUT)
    assert own.status_code == 302 and own.headers["location"] == SPA_LOGOUT
    assert not signed_in(discovery, theirs)


# --- a client removed from the configuration
# ----------------------------------------------------------

PORTAL_V1 = {"client_id": "test-retired-portal", "token_endpoint_auth_method": "none",
             "grant_types": ["authorization_code", "refresh_token"], "redirect_uris": [SPA_REDIRECT],
             "scope": "openid profile offline_access api"}


def test_a_client_removed_from_the_configuration_stops_working_after_a_restart(stack, tmp_path):
    identity, internal = start_identity(stack, tmp_path, database="motcua_identity_oidc_removed",
                                        clients=[*CLIENTS, PORTAL_V1])
    try:
        discovery = httpx2.get(f"{internal}/.well-known/openid-configuration", trust_env=False).json()
        retired, retired_token = log_in(discovery, Browser(), PORTAL_V1["client_id"])
        kept, kept_token = log_in(discovery, Browser(), SPA)
        assert userinfo_status(discovery, retired_token["access_token"]) == 200

        assert identity.terminate() == 0, identity.log_path.read_text()
        write_json(tmp_path / "clients.json", CLIENTS)  # the portal is retired from the configuration
        identity.start()

        with pytest.raises(OAuthError) as refused:
            retired.refresh_token(discovery["token_endpoint"], refresh_token=retired_token["refresh_token"])
        assert refused.value.error == "invalid_client"
        assert userinfo_status(discovery, retired_token["access_token"]) == 401
        url, _ = public_client(PORTAL_V1["client_id"], "openid").create_authorization_url(
            discovery["authorization_endpoint"], code_verifier="r" * 50
        )
        page = Browser().open(url)
        assert page.status_code == 400 and "location" not in page.headers
        # The clients still configured go on.
        assert kept.refresh_token(discovery["token_endpoint"], refresh_token=kept_token["refresh_token"])[
            "access_token"
        ]

        # Registered again under the same id, it starts afresh: the old refresh token stays dead.
        assert identity.terminate() == 0, identity.log_path.read_text()
        write_json(tmp_path / "clients.json", [*CLIENTS, PORTAL_V1])
        identity.start()
        with pytest.raises(OAuthError) as still_refused:
            retired.refresh_token(discovery["token_endpoint"], refresh_token=retired_token["refresh_token"])
        assert still_refused.value.error == "invalid_grant"
    finally:
        if identity.alive:
            assert identity.terminate() == 0
