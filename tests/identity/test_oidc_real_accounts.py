"""The issue's "done when": a citizen logs in with a standard OIDC client (authlib's httpx
OAuth2Client) against an account created through identity's API — no development accounts
file — and uses the token over REST through the gateway to submit a dossier for a published
procedure and to track it until the desk officer, logged in the same way, receives it.
Also: an account with a TOTP second factor it enrolled itself logs in with it.

Every process is real: identity (its own database, accounts on the encrypted store),
procedures, dossiers and notifications trusting the gateway's URL as the issuer, the gateway.
Only the very first administrator comes from a development token: someone has to create the
first accounts."""

from __future__ import annotations

import base64
import time
import uuid

import httpx2
import pyotp
import pytest
from authlib.integrations.base_client import OAuthError
from authlib.integrations.httpx_client import OAuth2Client
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.e2e.support import ok, retry_while, unique_procedure_code
from tests.gateway.support import http
from tests.support.identity import PROVINCE, seed_agencies, unique_login, unique_personal_id
from tests.support.waiting import eventually

from .oidc_support import SPA, SPA_REDIRECT, Browser, LoginForm, query_of, start_behind_gateway

PASSWORD = "Mật-khẩu-công-dân-2026"
AGENCY = "000.00.10.H56"  # in the sample agency tree
CITIZEN_NAME = "Nguyễn Thị Hằng"
OFFICER_NAME = "Lê Văn Tâm"


@pytest.fixture(scope="module")
def platform(stack, tmp_path_factory):
    started = start_behind_gateway(stack, tmp_path_factory.mktemp("platform"), "motcua_identity_accounts_e2e",
                                   services=("procedures", "dossiers", "notifications"), own_accounts=True,
                                   MOTCUA_IDENTITY_DEV_TOKENS="true")
    seeded = seed_agencies(started.identity.addr)
    assert seeded.returncode == 0, seeded.stdout + seeded.stderr
    yield started
    started.stop()


@pytest.fixture(scope="module")
def discovery(platform) -> dict:
    return platform.discovery()


class Rest:
    """The gateway's REST API as one caller (its bearer token)."""

    def __init__(self, base: str, token: str) -> None:
        self.base, self.token = base, token

    def call(self, method: str, path: str, body: object = None):
        return http(method, self.base + path, body, headers={"Authorization": f"Bearer {self.token}"})

    def post(self, path: str, body: object = None) -> dict:
        return ok(self.call("POST", path, {} if body is None else body))

    def get(self, path: str) -> dict:
        return ok(self.call("GET", path))


@pytest.fixture(scope="module")
def administrator(platform) -> Rest:
    """The province's first administrator, also a credential officer to open citizens' accounts
    (a development token: someone creates the first accounts)."""
    issued = ok(http("POST", platform.issuer + "/v1/tokens:issueDevelopment", {
        "roles": ["ROLE_ADMINISTRATOR", "ROLE_CREDENTIAL_OFFICER"], "agency_id": PROVINCE,
        "display_name": "Quản trị tỉnh"}))
    return Rest(platform.issuer, issued["access_token"])


def create_citizen(admin: Rest, name: str = CITIZEN_NAME) -> dict:
    return admin.post("/v1/accounts", {
        "kind": "ACCOUNT_KIND_CITIZEN", "display_name": name, "personal_id_number": unique_personal_id(),
        "phone": "0912345678", "password": PASSWORD})["account"]


def provider_keys(discovery) -> KeySet:
    return KeySet.import_key_set(httpx2.get(discovery["jwks_uri"], trust_env=False).json())


def spa_client() -> OAuth2Client:
    return OAuth2Client(client_id=SPA, token_endpoint_auth_method="none", redirect_uri=SPA_REDIRECT,
                        scope="openid profile roles offline_access api", code_challenge_method="S256", trust_env=False)


def authorize(discovery) -> tuple[OAuth2Client, str, str, str]:
    """A fresh authorization request: the client, its URL, state and PKCE verifier."""
    client = spa_client()
    verifier = base64.urlsafe_b64encode(uuid.uuid4().bytes * 2).decode().rstrip("=")
    url, state = client.create_authorization_url(discovery["authorization_endpoint"], code_verifier=verifier,
                                                 nonce=uuid.uuid4().hex)
    return client, url, state, verifier


def log_in(
    discovery, login: str, browser: Browser | None = None, password: str = PASSWORD
) -> tuple[OAuth2Client, dict]:
    """Code + PKCE through the Vietnamese login page, as a person in a browser."""
    client, url, state, verifier = authorize(discovery)
    back = (browser or Browser()).log_in(url, login, password)
    assert back.startswith(SPA_REDIRECT) and query_of(back)["state"] == state, back
    return client, client.fetch_token(discovery["token_endpoint"], authorization_response=back,
                                      code_verifier=verifier)


def test_a_citizen_logs_in_and_submits_and_tracks_a_dossier(platform, discovery, administrator):
    # The administrator creates the people with passwords; the officer gets the desk of an agency.
    citizen = create_citizen(administrator)
    officer = administrator.post("/v1/accounts", {
        "kind": "ACCOUNT_KIND_OFFICER", "display_name": OFFICER_NAME, "login": unique_login("tam"),
        "agency_id": AGENCY, "password": PASSWORD})["account"]
    for role in ("ROLE_DESK_OFFICER", "ROLE_ADMINISTRATOR"):
        administrator.post(f"/v1/accounts/{officer['account_id']}:grantRole", {"role": role, "agency_id": AGENCY})

    # The officer logs in and publishes a procedure.
    _, officer_tokens = log_in(discovery, officer["login"])
    desk = Rest(platform.issuer, officer_tokens["access_token"])
    # The login's token keeps each grant with its agency.
    officer_claims = jwt.decode(officer_tokens["access_token"], provider_keys(discovery), algorithms=["ES256"]).claims
    assert officer_claims["grants"] == [{"role": "desk_officer", "agency_id": AGENCY},
                                        {"role": "administrator", "agency_id": AGENCY}]
    procedure = desk.post("/v1/procedures", {"code": unique_procedure_code(), "name": "Đăng ký khai sinh",
                                             "agency_id": AGENCY, "processing_days": 3})["procedure"]
    desk.post(f"/v1/procedures/{procedure['procedure_id']}:publish", {"expected_version": "1"})

    # The citizen logs in with the personal identification number and the password.
    client, tokens = log_in(discovery, citizen["personal_id_number"])
    keys = provider_keys(discovery)
    id_claims = jwt.decode(tokens["id_token"], keys, algorithms=["ES256"]).claims
    access = jwt.decode(tokens["access_token"], keys, algorithms=["ES256"]).claims
    assert id_claims["sub"] == access["sub"] == citizen["account_id"]
    assert id_claims["name"] == CITIZEN_NAME and id_claims["iss"] == platform.issuer
    assert access["roles"] == ["applicant"] and "agency_id" not in access and access["grants"] == []
    me = Rest(platform.issuer, tokens["access_token"])
    assert me.get(f"/v1/accounts/{citizen['account_id']}")["account"]["display_name"] == CITIZEN_NAME

    # Submits a dossier for herself, once the dossiers service has its copy of the procedure.
    submit = {"procedure_id": procedure["procedure_id"], "agency_id": AGENCY, "channel": "SUBMISSION_CHANNEL_ONLINE",
              "applicant": {"kind": "APPLICANT_KIND_CITIZEN", "account_id": citizen["account_id"],
                            "full_name": CITIZEN_NAME, "identity_number": citizen["personal_id_number"],
                            "phone": "0912345678"}}
    dossier = ok(retry_while(lambda: me.call("POST", "/v1/dossiers:submit", submit), "FAILED_PRECONDITION"))["dossier"]
    dossier_id = dossier["dossier_id"]
    assert dossier["applicant"]["full_name"] == CITIZEN_NAME and dossier["code"].startswith(AGENCY + "-")
    # Someone else's dossier is not hers to file.
    other = {**submit, "applicant": {**submit["applicant"], "account_id": str(uuid.uuid4())}}
    assert me.call("POST", "/v1/dossiers:submit", other).status == 403

    # Tracks it: submitted, then received by the desk, with a notification in her inbox.
    assert me.get(f"/v1/dossiers/{dossier_id}")["dossier"]["state"] == "DOSSIER_STATE_SUBMITTED"
    received = desk.post(f"/v1/dossiers/{dossier_id}:receive")["dossier"]
    assert received["state"] == "DOSSIER_STATE_RECEIVED"
    # Later, with an access token from a refresh grant (the first one may have expired by then).
    refreshed = client.refresh_token(discovery["token_endpoint"], refresh_token=tokens["refresh_token"])
    me = Rest(platform.issuer, refreshed["access_token"])
    tracked = me.get(f"/v1/dossiers/{dossier_id}")["dossier"]
    assert tracked["state"] == "DOSSIER_STATE_RECEIVED" and tracked["code"] == dossier["code"]

    def inbox() -> list[dict]:
        return me.get(f"/v1/notifications?recipient_account_id={citizen['account_id']}").get("notifications", [])

    (notification,) = eventually(inbox, timeout=30, what="the citizen's notification")
    assert notification["dossier_id"] == dossier_id
    assert dossier["code"] in notification["body"] and "tiếp nhận" in notification["body"], notification
    # The officer's events are recorded with the officer's account, from the token.
    assert jwt.decode(officer_tokens["access_token"], keys, algorithms=["ES256"]).claims["sub"] == officer["account_id"]


def test_an_account_with_a_second_factor_logs_in_with_it(discovery, platform, administrator):
    citizen = create_citizen(administrator, "Trần Thị Mai")
    _, tokens = log_in(discovery, citizen["personal_id_number"])
    # She enrols an authenticator app with her own token.
    me = Rest(platform.issuer, tokens["access_token"])
    started = me.post(f"/v1/accounts/{citizen['account_id']}/totp:start")
    totp = pyotp.TOTP(started["secret"])
    confirmed = me.post(f"/v1/accounts/{citizen['account_id']}/totp:confirm", {"code": totp.now()})
    assert len(confirmed["recovery_codes"]) == 10 and confirmed["account"]["mfa_enabled"]

    # The next login asks for the code after the password; a wrong one is refused.
    client, url, state, verifier = authorize(discovery)
    browser = Browser()
    asked = LoginForm(browser.submit(browser.login_form(url), login=citizen["personal_id_number"], password=PASSWORD))
    assert asked.response.status_code == 200 and asked.asks_totp
    wrong = LoginForm(browser.submit(asked, login=citizen["personal_id_number"], password=PASSWORD, totp="000000"))
    assert wrong.asks_totp and wrong.error == "Mã xác thực không đúng hoặc đã được dùng."
    # The code of the next time step: the one just used to confirm cannot be replayed.
    done = browser.submit(wrong, login=citizen["personal_id_number"], password=PASSWORD,
                          totp=totp.at(time.time() + totp.interval))
    assert done.status_code == 302 and query_of(done.headers["location"])["state"] == state
    second = client.fetch_token(discovery["token_endpoint"], authorization_response=done.headers["location"],
                                code_verifier=verifier)
    claims = jwt.decode(second["id_token"], provider_keys(discovery), algorithms=["ES256"]).claims
    assert claims["sub"] == citizen["account_id"] and claims["amr"] == ["pwd", "otp", "mfa"]


def signed_in(discovery, browser: Browser) -> bool:
    """Whether the browser's login session answers an authorization request without the form."""
    _, url, _, _ = authorize(discovery)
    answer = browser.open(url)
    assert answer.status_code in (200, 302), answer.text
    return answer.status_code == 302


def refresh_error(discovery, client: OAuth2Client, tokens: dict) -> str:
    with pytest.raises(OAuthError) as refused:
        client.refresh_token(discovery["token_endpoint"], refresh_token=tokens["refresh_token"])
    return refused.value.error


def test_a_password_change_or_reset_ends_the_accounts_sessions_and_refresh_tokens(discovery, platform,
                                                                                  administrator):
    citizen = create_citizen(administrator, "Đỗ Thị Lan")
    login, path = citizen["personal_id_number"], f"/v1/accounts/{citizen['account_id']}:setPassword"
    phone, laptop = Browser(), Browser()
    phone_client, phone_tokens = log_in(discovery, login, phone)
    laptop_client, laptop_tokens = log_in(discovery, login, laptop)
    # Someone may know the old password: she changes it, from the laptop. Every session ends,
    # the laptop's too (the person signs in again with the new password).
    Rest(platform.issuer, laptop_tokens["access_token"]).post(path, {"current_password": PASSWORD,
                                                                     "new_password": "Mật-khẩu-mới-2026"})
    assert refresh_error(discovery, phone_client, phone_tokens) == "invalid_grant"
    assert refresh_error(discovery, laptop_client, laptop_tokens) == "invalid_grant"
    userinfo = httpx2.get(discovery["userinfo_endpoint"], trust_env=False,
                          headers={"Authorization": f"Bearer {phone_tokens['access_token']}"})
    assert userinfo.status_code == 401  # its session is over (services accept it until it expires)
    assert not signed_in(discovery, phone) and not signed_in(discovery, laptop)

    # With the new password she is in again; then a credential officer resets it: the same.
    client, tokens = log_in(discovery, login, phone, "Mật-khẩu-mới-2026")
    assert signed_in(discovery, phone)
    administrator.post(path, {"new_password": "Mật-khẩu-cấp-lại-2026", "reason": "Công dân mất mật khẩu"})
    assert refresh_error(discovery, client, tokens) == "invalid_grant"
    assert not signed_in(discovery, phone)
    log_in(discovery, login, Browser(), "Mật-khẩu-cấp-lại-2026")
