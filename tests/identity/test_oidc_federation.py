"""Federated login: a citizen logs in at an upstream OIDC provider (standing in for VNeID: a
second identity process with its own keys, clients and accounts) and is linked to the local
citizen by the personal identification number its ID token carries."""

from __future__ import annotations

import httpx2
import pytest
from authlib.integrations.httpx_client import OAuth2Client
from joserfc import jwt
from joserfc.jwk import KeySet

from motcua.devstack import free_port

from .oidc_support import CITIZEN, PASSWORD, SPA, SPA_REDIRECT, Browser, query_of, start_identity

FEDERATION_CLIENT = "motcua-federation"
FEDERATION_SECRET = "upstream-client-secret-for-tests"
UPSTREAM_CITIZEN = {"account_id": "7d0a9e51-2222-4000-8000-000000000001", "login": "vneid.hang",
                    "password": PASSWORD, "display_name": "NGUYỄN THỊ HẰNG", "roles": ["applicant"],
                    "personal_id_number": CITIZEN["personal_id_number"]}
UPSTREAM_STRANGER = {"account_id": "7d0a9e51-2222-4000-8000-000000000002", "login": "vneid.khach",
                     "password": PASSWORD, "display_name": "Phạm Văn Khách", "roles": ["applicant"],
                     "personal_id_number": "001099009999"}


@pytest.fixture(scope="module")
def providers(stack, tmp_path_factory):
    local_port = free_port()
    local_issuer = f"http://127.0.0.1:{local_port}"
    upstream, upstream_url = start_identity(
        stack, tmp_path_factory.mktemp("upstream"), database="motcua_identity_upstream",
        accounts=[UPSTREAM_CITIZEN, UPSTREAM_STRANGER],
        clients=[{"client_id": FEDERATION_CLIENT, "client_secret": FEDERATION_SECRET,
                  "token_endpoint_auth_method": "client_secret_basic", "grant_types": ["authorization_code"],
                  "redirect_uris": [f"{local_issuer}/oauth2/federation/callback"], "scope": "openid personal_id"}])
    local, _ = start_identity(
        stack, tmp_path_factory.mktemp("local"), database="motcua_identity_federated", http_port=local_port,
        MOTCUA_IDENTITY_FEDERATION_ISSUER=upstream_url, MOTCUA_IDENTITY_FEDERATION_CLIENT_ID=FEDERATION_CLIENT,
        MOTCUA_IDENTITY_FEDERATION_CLIENT_SECRET=FEDERATION_SECRET)
    yield local_issuer, upstream_url
    for process in (local, upstream):
        assert process.terminate() == 0


def to_callback(local_issuer: str, upstream_login: str) -> tuple[OAuth2Client, str, Browser, str]:
    """The login up to the upstream provider's answer: the client, its PKCE verifier, the
    browser that started the login and the callback URL the upstream provider sends it to."""
    client = OAuth2Client(client_id=SPA, token_endpoint_auth_method="none", redirect_uri=SPA_REDIRECT,
                          scope="openid profile", code_challenge_method="S256", trust_env=False)
    verifier = "f" * 64
    url, _ = client.create_authorization_url(f"{local_issuer}/oauth2/authorize", code_verifier=verifier)
    browser = Browser()
    page = browser.login_form(url)
    assert "Đăng nhập bằng VNeID" in page.html
    start = page.html.split('class="federation" href="')[1].split('"')[0].replace("&amp;", "&")
    to_upstream = browser.open(local_issuer + start)
    assert to_upstream.status_code == 302
    upstream_form = browser.login_form(to_upstream.headers["location"])
    back = browser.submit(upstream_form, login=upstream_login, password=PASSWORD)
    assert back.status_code == 302 and "/oauth2/federation/callback?" in back.headers["location"]
    return client, verifier, browser, back.headers["location"]


def federated_login(local_issuer: str, upstream_login: str) -> tuple[OAuth2Client, str, httpx2.Response]:
    client, verifier, browser, callback = to_callback(local_issuer, upstream_login)
    return client, verifier, browser.open(callback)


def test_a_citizen_logs_in_upstream_and_is_the_local_citizen(providers):
    local_issuer, upstream_url = providers
    client, verifier, answer = federated_login(local_issuer, UPSTREAM_CITIZEN["login"])
    assert answer.status_code == 302 and answer.headers["location"].startswith(SPA_REDIRECT)
    assert "code" in query_of(answer.headers["location"])
    token = client.fetch_token(f"{local_issuer}/oauth2/token", authorization_response=answer.headers["location"],
                               code_verifier=verifier)
    keys = KeySet.import_key_set(httpx2.get(f"{local_issuer}/.well-known/jwks.json", trust_env=False).json())
    claims = jwt.decode(token["id_token"], keys, algorithms=["ES256"]).claims
    # The local account, found by personal identification number; the local provider signs.
    assert (claims["iss"], claims["sub"], claims["name"]) == (local_issuer, CITIZEN["account_id"], "Nguyễn Thị Hằng")
    assert claims["amr"] == ["fed"]


def test_an_upstream_citizen_without_a_local_account_is_told_so(providers):
    local_issuer, _ = providers
    _, _, answer = federated_login(local_issuer, UPSTREAM_STRANGER["login"])
    assert answer.status_code == 403 and "location" not in answer.headers
    assert "Chưa có tài khoản công dân nào gắn với số định danh cá nhân này." in answer.text


def test_a_forged_callback_is_refused(providers):
    local_issuer, _ = providers
    forged = httpx2.get(f"{local_issuer}/oauth2/federation/callback?code=x&state=made-up", trust_env=False)
    assert forged.status_code == 400 and "location" not in forged.headers


def test_a_callback_in_another_browser_than_the_one_that_started_the_login_is_refused(providers):
    """Login CSRF: an attacker logs in upstream as themself and sends the victim's browser to
    the callback with their code and state; the victim's browser lacks the starting cookie."""
    local_issuer, _ = providers
    _, _, attacker, callback = to_callback(local_issuer, UPSTREAM_CITIZEN["login"])
    victim = Browser()
    refused = victim.open(callback)
    assert refused.status_code == 400 and "location" not in refused.headers
    assert "motcua_session" not in victim.http.cookies
    # A forged cookie does not pass either.
    assert victim.http.get(callback, headers={"Cookie": "motcua_federation=guessed"}).status_code == 400
    # The browser that started it still completes its own login.
    answer = attacker.open(callback)
    assert answer.status_code == 302 and answer.headers["location"].startswith(SPA_REDIRECT)
