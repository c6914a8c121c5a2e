"""The OIDC provider with a standard client (authlib's httpx OAuth2Client, which knows
nothing of motcua), through the gateway whose URL is the public issuer, and a browser that
fills in the Vietnamese login page: code + PKCE, ID token, userinfo, a real service call with
the access token, refresh rotation and reuse detection, client credentials, revocation,
logout."""

from __future__ import annotations

import base64
import json
import time
import uuid

import httpx2
import pyotp
import pytest
from authlib.integrations.base_client import OAuthError
from authlib.integrations.httpx_client import OAuth2Client
from authlib.oidc import rpinitiated
from authlib.oidc.discovery import OpenIDProviderMetadata
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet

from motcua.identity.oidc.routes import ProviderMetadata
from tests.support.clients import procedures_stub
from tests.support.procedures import create_request

from .oidc_support import (
    CITIZEN,
    MFA_OFFICER,
    OFFICER,
    PASSWORD,
    SERVICE,
    SERVICE_SECRET,
    SPA,
    SPA_LOGOUT,
    SPA_REDIRECT,
    TOTP_SECRET,
    Browser,
    LoginForm,
    query_of,
    start_behind_gateway,
)


@pytest.fixture(scope="module")
def op(stack, tmp_path_factory):
    started = start_behind_gateway(stack, tmp_path_factory.mktemp("oidc"), "motcua_identity_oidc")
    yield started
    started.stop()


@pytest.fixture(scope="module")
def discovery(op) -> dict:
    return op.discovery()


def spa_client(code_challenge_method: str | None = "S256") -> OAuth2Client:
    return OAuth2Client(client_id=SPA, token_endpoint_auth_method="none", redirect_uri=SPA_REDIRECT,
                        scope="openid profile email roles offline_access api",
                        code_challenge_method=code_challenge_method, trust_env=False)


def provider_keys(discovery) -> KeySet:
    return KeySet.import_key_set(httpx2.get(discovery["jwks_uri"], trust_env=False).json())


def code_flow(discovery, browser: Browser, login: str = OFFICER["login"]) -> tuple[OAuth2Client, dict, str]:
    """Logs in as a person would; returns the client, its token response and the nonce."""
    client = spa_client()
    verifier, nonce = base64.urlsafe_b64encode(uuid.uuid4().bytes * 3).decode().rstrip("="), uuid.uuid4().hex
    url, state = client.create_authorization_url(discovery["authorization_endpoint"], code_verifier=verifier,
                                                 nonce=nonce)
    back = browser.log_in(url, login)
    assert back.startswith(SPA_REDIRECT) and query_of(back)["state"] == state
    token = client.fetch_token(discovery["token_endpoint"], authorization_response=back, code_verifier=verifier)
    return client, token, nonce


def test_discovery_is_served_through_the_gateway_and_valid(op, discovery):
    with pytest.raises(ValueError, match="RS256"):  # the one check left out: ES256 only (routes.py)
        OpenIDProviderMetadata(discovery).validate()
    ProviderMetadata(discovery).validate(metadata_classes=[rpinitiated.OpenIDProviderMetadata])
    assert discovery["issuer"] == op.issuer
    for endpoint in ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri",
                     "end_session_endpoint", "revocation_endpoint"):
        assert discovery[endpoint].startswith(op.issuer + "/"), endpoint
    assert discovery["code_challenge_methods_supported"] == ["S256"]
    assert discovery["id_token_signing_alg_values_supported"] == ["ES256"]
    assert provider_keys(discovery).keys  # the JWKS through the gateway too


def test_code_flow_with_pkce_gives_tokens_a_service_accepts(op, discovery):
    client, token, nonce = code_flow(discovery, Browser())
    # The ID token: ES256, typ JWT, for this client, with the nonce and the session id.
    id_token = jwt.decode(token["id_token"], provider_keys(discovery), algorithms=["ES256"])
    assert id_token.header["typ"] == "JWT" and id_token.header["alg"] == "ES256"
    claims = id_token.claims
    assert (claims["iss"], claims["aud"], claims["sub"], claims["nonce"]) == (op.issuer, SPA, OFFICER["account_id"],
                                                                               nonce)
    assert claims["name"] == "Lê Văn Tâm" and claims["sid"] and claims["auth_time"] <= claims["iat"]
    # The access token: the at+jwt every service verifies.
    access = jwt.decode(token["access_token"], provider_keys(discovery), algorithms=["ES256"])
    assert access.header["typ"] == "at+jwt"
    assert access.claims["roles"] == ["administrator"] and access.claims["agency_id"] == "000.00.10.H56"
    assert access.claims["client_id"] == SPA and access.claims["aud"] == ["motcua", op.issuer]  # API, userinfo
    # It calls a real service over gRPC; the event log names the person.
    stub = procedures_stub(op.procedures.addr, token["access_token"])
    created = stub.CreateProcedure(create_request(name="Đăng ký khai sinh", agency_id="000.00.10.H56"))
    assert created.procedure.name == "Đăng ký khai sinh"
    # ... and over REST through the gateway.
    rest = httpx2.get(f"{op.issuer}/v1/procedures/{created.procedure.procedure_id}", trust_env=False,
                      headers={"Authorization": f"Bearer {token['access_token']}"})
    assert rest.status_code == 200 and rest.json()["procedure"]["name"] == "Đăng ký khai sinh"
    # userinfo, by the client library's own authenticated request.
    info = client.get(discovery["userinfo_endpoint"]).json()
    assert info == {"sub": OFFICER["account_id"], "name": "Lê Văn Tâm", "email": "tam@example.invalid",
                    "roles": ["administrator"], "agency_id": "000.00.10.H56"}


def test_refresh_tokens_rotate_and_a_reused_one_revokes_its_family(discovery):
    client, token, _ = code_flow(discovery, Browser())
    first = token["refresh_token"]
    second = client.refresh_token(discovery["token_endpoint"], refresh_token=first)
    assert second["refresh_token"] != first and second["access_token"] != token["access_token"]
    third = client.refresh_token(discovery["token_endpoint"], refresh_token=second["refresh_token"])
    # The first one again: a thief or a leak. It fails, and so does every token of its family.
    with pytest.raises(OAuthError) as reused:
        client.refresh_token(discovery["token_endpoint"], refresh_token=first)
    assert reused.value.error == "invalid_grant"
    with pytest.raises(OAuthError) as family:
        client.refresh_token(discovery["token_endpoint"], refresh_token=third["refresh_token"])
    assert family.value.error == "invalid_grant"


def test_a_public_client_must_use_pkce_s256(discovery):
    browser = Browser()
    client = spa_client()
    without, _ = spa_client(code_challenge_method=None).create_authorization_url(discovery["authorization_endpoint"])
    refused = browser.open(without)
    assert refused.status_code == 302 and query_of(refused.headers["location"])["error"] == "invalid_request"
    plain = browser.open(without + "&code_challenge=" + "a" * 43 + "&code_challenge_method=plain")
    assert query_of(plain.headers["location"])["error"] == "invalid_request"
    # The right challenge, then the wrong verifier at the token endpoint.
    verifier = "v" * 50
    url, _ = client.create_authorization_url(discovery["authorization_endpoint"], code_verifier=verifier)
    back = browser.log_in(url, OFFICER["login"])
    with pytest.raises(OAuthError) as wrong:
        client.fetch_token(discovery["token_endpoint"], authorization_response=back, code_verifier="w" * 50)
    assert wrong.value.error == "invalid_grant"


def test_a_code_is_redeemed_once_and_its_replay_revokes_what_it_gave(discovery):
    browser = Browser()
    client = spa_client()
    verifier = "c" * 60
    url, _ = client.create_authorization_url(discovery["authorization_endpoint"], code_verifier=verifier)
    back = browser.log_in(url, OFFICER["login"])
    token = client.fetch_token(discovery["token_endpoint"], authorization_response=back, code_verifier=verifier)
    with pytest.raises(OAuthError) as replay:
        client.fetch_token(discovery["token_endpoint"], authorization_response=back, code_verifier=verifier)
    assert replay.value.error == "invalid_grant"
    with pytest.raises(OAuthError):
        client.refresh_token(discovery["token_endpoint"], refresh_token=token["refresh_token"])


def test_an_open_session_signs_in_without_the_form_until_logout(op, discovery):
    browser = Browser()
    client, token, _ = code_flow(discovery, browser)
    # Single sign-on: the session cookie answers the next authorization request at once.
    again, _ = client.create_authorization_url(discovery["authorization_endpoint"], code_verifier="s" * 50)
    assert browser.open(again).status_code == 302
    # RP-initiated logout with the ID token as hint, back to the registered page with the state.
    logout = browser.open(discovery["end_session_endpoint"] + "?" + httpx2.QueryParams({
        "id_token_hint": token["id_token"], "post_logout_redirect_uri": SPA_LOGOUT, "state": "bye"}).__str__())
    assert logout.status_code == 302 and logout.headers["location"] == SPA_LOGOUT + "?state=bye"
    # The session's refresh tokens stop working; the next authorization asks for the password.
    with pytest.raises(OAuthError) as ended:
        client.refresh_token(discovery["token_endpoint"], refresh_token=token["refresh_token"])
    assert ended.value.error == "invalid_grant"
    assert browser.open(again).status_code == 200
    # A post-logout URI the client did not register is never redirected to.
    elsewhere = browser.open(discovery["end_session_endpoint"] + "?" + str(httpx2.QueryParams({
        "id_token_hint": token["id_token"], "post_logout_redirect_uri": "https://evil.example/"})))
    assert elsewhere.status_code == 200 and "evil" not in elsewhere.headers.get("location", "")


def test_revoking_a_refresh_token_revokes_its_family(discovery):
    client, token, _ = code_flow(discovery, Browser())
    rotated = client.refresh_token(discovery["token_endpoint"], refresh_token=token["refresh_token"])
    response = client.revoke_token(discovery["revocation_endpoint"], token=rotated["refresh_token"],
                                   token_type_hint="refresh_token")
    assert response.status_code == 200
    with pytest.raises(OAuthError):
        client.refresh_token(discovery["token_endpoint"], refresh_token=rotated["refresh_token"])


def test_a_service_gets_a_token_with_client_credentials(op, discovery):
    service = OAuth2Client(client_id=SERVICE, client_secret=SERVICE_SECRET, trust_env=False)
    token = service.fetch_token(discovery["token_endpoint"], grant_type="client_credentials")
    assert "refresh_token" not in token and "id_token" not in token
    claims = jwt.decode(token["access_token"], provider_keys(discovery), algorithms=["ES256"]).claims
    assert (claims["sub"], claims["client_id"], claims["roles"]) == (SERVICE, SERVICE, ["administrator"])
    stub = procedures_stub(op.procedures.addr, token["access_token"])
    assert stub.CreateProcedure(create_request(name="Cấp giấy phép", agency_id="000.00.10.H56")).procedure.procedure_id
    wrong = OAuth2Client(client_id=SERVICE, client_secret="not-the-secret", trust_env=False)
    with pytest.raises(OAuthError) as refused:
        wrong.fetch_token(discovery["token_endpoint"], grant_type="client_credentials")
    assert refused.value.error == "invalid_client"
    # Not a person: userinfo has nothing to say.
    assert httpx2.get(discovery["userinfo_endpoint"], trust_env=False,
                      headers={"Authorization": f"Bearer {token['access_token']}"}).status_code in (401, 403)


def _userinfo_status(discovery, token: str) -> int:
    return httpx2.get(discovery["userinfo_endpoint"], trust_env=False,
                      headers={"Authorization": f"Bearer {token}"}).status_code


def test_forged_expired_foreign_and_unsigned_tokens_are_refused_at_userinfo(op, discovery):
    _, token, _ = code_flow(discovery, Browser())
    claims = jwt.decode(token["access_token"], provider_keys(discovery), algorithms=["ES256"]).claims
    header = jwt.decode(token["access_token"], provider_keys(discovery), algorithms=["ES256"]).header
    assert _userinfo_status(discovery, token["access_token"]) == 200
    impostor = ECKey.generate_key("P-256")
    forged = jwt.encode(header, claims, impostor)
    assert _userinfo_status(discovery, forged) == 401
    unsigned = ".".join(base64.urlsafe_b64encode(json.dumps(part).encode()).decode().rstrip("=")
                        for part in ({"alg": "none", "typ": "at+jwt"}, claims)) + "."
    assert _userinfo_status(discovery, unsigned) == 401
    # The ID token is not an access token.
    assert _userinfo_status(discovery, token["id_token"]) == 401
    assert _userinfo_status(discovery, "not-a-jwt") == 401
    assert httpx2.get(discovery["userinfo_endpoint"], trust_env=False).status_code == 401
    # The token endpoint: an unknown refresh token, an unknown client.
    unknown = httpx2.post(discovery["token_endpoint"], trust_env=False, data={
        "grant_type": "refresh_token", "refresh_token": "made-up", "client_id": SPA})
    assert unknown.status_code == 400 and unknown.json()["error"] == "invalid_grant"
    nobody = httpx2.post(discovery["token_endpoint"], trust_env=False, data={
        "grant_type": "refresh_token", "refresh_token": token["refresh_token"], "client_id": "nobody"})
    # RFC 6749 5.2: 401 only when the client tried the Authorization header.
    assert nobody.status_code == 400 and nobody.json()["error"] == "invalid_client"


def test_expired_and_foreign_audience_tokens_signed_by_the_provider_are_refused(op, stack, discovery):
    key = ECKey.import_key(next((op_dir := _keys_dir(op)).glob("*.pem")).read_bytes())
    now = int(time.time())
    base = {"iss": op.issuer, "sub": OFFICER["account_id"], "aud": op.issuer, "client_id": SPA, "iat": now,
            "jti": uuid.uuid4().hex, "exp": now + 600, "scope": "openid"}
    header = {"alg": "ES256", "typ": "at+jwt", "kid": key.thumbprint()}
    assert _userinfo_status(discovery, jwt.encode(header, base, key)) == 200
    assert _userinfo_status(discovery, jwt.encode(header, {**base, "exp": now - 3600, "iat": now - 7200}, key)) == 401
    assert _userinfo_status(discovery, jwt.encode(header, {**base, "aud": "another-system"}, key)) == 401
    assert _userinfo_status(discovery, jwt.encode(header, {**base, "aud": "motcua"}, key)) == 401  # the API's only
    assert _userinfo_status(discovery, jwt.encode(header, {**base, "iss": "https://evil.example"}, key)) == 401
    assert op_dir.is_dir()


def _keys_dir(op):
    return __import__("pathlib").Path(op.identity.env["MOTCUA_IDENTITY_DIR"]) / "keys"


def test_the_login_page_is_vietnamese_escaped_and_protected(discovery):
    browser = Browser()
    client = spa_client()
    url, _ = client.create_authorization_url(discovery["authorization_endpoint"], code_verifier="p" * 50,
                                             state='"><script>alert(1)</script>')
    form = browser.login_form(url)
    assert "<title>Đăng nhập</title>" in form.html and "Mật khẩu" in form.html
    assert "<script>" not in form.html and "&lt;thử&gt;" in form.html  # the client name, escaped
    wrong = LoginForm(browser.submit(form, login=OFFICER["login"], password="sai-mật-khẩu"))
    assert wrong.response.status_code == 401 and wrong.error == "Tên đăng nhập hoặc mật khẩu không đúng."
    # A form posted from elsewhere (no CSRF cookie or token) is refused.
    stranger = httpx2.post(form.action, trust_env=False, data={"login": OFFICER["login"], "password": PASSWORD})
    assert stranger.status_code == 400 and "đã hết hạn" in stranger.text
    # Unknown client: an error page, never a redirect.
    bad = browser.open(discovery["authorization_endpoint"] + "?response_type=code&client_id=nobody")
    assert bad.status_code == 400 and "location" not in bad.headers


def test_a_second_factor_is_asked_when_the_account_has_one(discovery):
    browser = Browser()
    client = spa_client()
    verifier = "m" * 50
    url, _ = client.create_authorization_url(discovery["authorization_endpoint"], code_verifier=verifier)
    asked = LoginForm(browser.submit(browser.login_form(url), login=MFA_OFFICER["login"], password=PASSWORD))
    assert asked.response.status_code == 200 and asked.asks_totp and "xác thực hai lớp" in asked.error
    wrong = LoginForm(browser.submit(asked, login=MFA_OFFICER["login"], password=PASSWORD, totp="000000"))
    assert wrong.asks_totp and wrong.error == "Mã xác thực không đúng hoặc đã được dùng."
    done = browser.submit(wrong, login=MFA_OFFICER["login"], password=PASSWORD, totp=pyotp.TOTP(TOTP_SECRET).now())
    assert done.status_code == 302
    token = client.fetch_token(discovery["token_endpoint"], authorization_response=done.headers["location"],
                               code_verifier=verifier)
    id_claims = jwt.decode(token["id_token"], provider_keys(discovery), algorithms=["ES256"]).claims
    assert id_claims["amr"] == ["pwd", "otp", "mfa"] and id_claims["sub"] == MFA_OFFICER["account_id"]
    assert CITIZEN["login"]  # the citizen logs in by personal id number: see test_oidc_federation
