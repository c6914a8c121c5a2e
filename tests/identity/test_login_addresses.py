"""The caller's address behind the gateway, with real processes: identity (its own database,
accounts created through its API) and gateways in front of it.

The test client plays the ingress: it is on loopback, which the local stack trusts, so the
X-Forwarded-For it writes names the browser. A gateway that trusts no proxy shows what an
untrusted caller's X-Forwarded-For is worth: nothing."""

from __future__ import annotations

import hashlib
import uuid

import psycopg
import pytest

from motcua.devstack import ServiceProcess, free_port
from motcua.devstack.services import gateway_env
from tests.e2e.support import ok
from tests.gateway.support import http
from tests.support.identity import PROVINCE, seed_agencies, unique_personal_id

from .oidc_support import SPA, SPA_REDIRECT, Browser, LoginForm, start_behind_gateway

PASSWORD = "Mật-khẩu-chủ-tài-khoản-2026"
LOCKED_MESSAGE = "tạm thời bị khóa"
DATABASE = "motcua_identity_addresses"


@pytest.fixture(scope="module")
def platform(stack, tmp_path_factory):
    started = start_behind_gateway(stack, tmp_path_factory.mktemp("addresses"), DATABASE, services=(),
                                   own_accounts=True, MOTCUA_IDENTITY_DEV_TOKENS="true",
                                   MOTCUA_IDENTITY_LOGIN_FREE_FAILURES="3", MOTCUA_IDENTITY_LOGIN_LOCKOUT_FAILURES="6",
                                   MOTCUA_IDENTITY_LOGIN_DELAY="600", MOTCUA_IDENTITY_LOGIN_MAX_DELAY="600")
    seeded = seed_agencies(started.identity.addr)
    assert seeded.returncode == 0, seeded.stdout + seeded.stderr
    yield started
    started.stop()


@pytest.fixture(scope="module")
def registrar_token(platform) -> str:
    """A credential officer of the province: citizens' accounts are opened by one."""
    issued = ok(http("POST", platform.issuer + "/v1/tokens:issueDevelopment", {
        "roles": ["ROLE_CREDENTIAL_OFFICER"], "agency_id": PROVINCE, "display_name": "Cán bộ cấp tài khoản"}))
    return issued["access_token"]


def create_citizen(platform, token: str) -> str:
    """A citizen account with a password; its login is the personal id number."""
    number = unique_personal_id()
    ok(http("POST", platform.issuer + "/v1/accounts", {
        "kind": "ACCOUNT_KIND_CITIZEN", "display_name": "Nguyễn Thị Hằng", "personal_id_number": number,
        "phone": "0912345678", "password": PASSWORD}, headers={"Authorization": f"Bearer {token}"}))
    return number


def authorize_url(issuer: str) -> str:
    return (f"{issuer}/oauth2/authorize?response_type=code&client_id={SPA}&redirect_uri={SPA_REDIRECT}"
            f"&scope=openid&state={uuid.uuid4().hex}&code_challenge={'a' * 43}&code_challenge_method=S256")


class Person(Browser):
    """A browser behind the ingress, at ``address``."""

    def __init__(self, address: str) -> None:
        super().__init__()
        self.http.headers["X-Forwarded-For"] = address

    def try_login(self, issuer: str, login: str, password: str) -> tuple[int, str]:
        """(status, error on the page): 302 and "" when the login succeeded."""
        response = self.submit(self.login_form(authorize_url(issuer)), login=login, password=password)
        return response.status_code, LoginForm(response).error if response.status_code != 302 else ""

    def fail_many(self, issuer: str, login: str, times: int) -> list[int]:
        """``times`` wrong passwords, each on the page the last answer showed; their statuses."""
        form, statuses = self.login_form(authorize_url(issuer)), []
        for attempt in range(times):
            response = self.submit(form, login=login, password=f"sai-{attempt}")
            statuses.append(response.status_code)
            form = LoginForm(response)
        return statuses


def test_a_hundred_failures_from_one_address_lock_that_address_out_not_the_owner(platform, registrar_token):
    victim = create_citizen(platform, registrar_token)
    neighbour = create_citizen(platform, registrar_token)
    attacker = Person("198.51.100.10")
    assert set(attacker.fail_many(platform.issuer, victim, 100)) == {401}
    # The attacker's address is locked out of that account, even with the right password...
    status, error = attacker.try_login(platform.issuer, victim, PASSWORD)
    assert status == 401 and LOCKED_MESSAGE in error
    # ...the owner logs in from their own address, and everybody else is not affected at all.
    assert Person("203.0.113.20").try_login(platform.issuer, victim, PASSWORD) == (302, "")
    assert Person("203.0.113.30").try_login(platform.issuer, neighbour, PASSWORD) == (302, "")


def test_a_spray_from_one_address_does_not_lock_out_the_people_behind_other_addresses(platform, registrar_token):
    people = [create_citizen(platform, registrar_token) for _ in range(2)]
    sprayer = Person("198.51.100.11")
    for _ in range(25):  # more than the 20 an address may fail before it has to wait
        sprayer.try_login(platform.issuer, unique_personal_id(), "123456")
    status, error = sprayer.try_login(platform.issuer, people[0], PASSWORD)
    assert status == 401 and LOCKED_MESSAGE in error
    assert Person("203.0.113.21").try_login(platform.issuer, people[0], PASSWORD) == (302, "")
    assert Person("203.0.113.22").try_login(platform.issuer, people[1], PASSWORD) == (302, "")


def test_an_untrusted_caller_cannot_spoof_its_address(stack, platform, registrar_token):
    """A gateway that trusts no proxy: the X-Forwarded-For its callers write is ignored, so
    failures with a new made-up address each time still count against the one real peer."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    identity_http_port = int(platform.identity_http.rpartition(":")[2])
    env = gateway_env(port, {"identity": platform.identity.addr}, {"MOTCUA_TRUSTED_PROXIES": ""},
                      identity_http_port=identity_http_port)
    with ServiceProcess("gateway", env, stack.logs / f"gateway-{port}.log", ready_url=f"{url}/livez"):
        victim = create_citizen(platform, registrar_token)
        for attempt in range(6):  # the lockout, each failure "from" another address
            Person(f"192.0.2.{attempt + 1}").try_login(url, victim, "sai")
        status, error = Person("192.0.2.99").try_login(url, victim, PASSWORD)
        assert status == 401 and LOCKED_MESSAGE in error
        # Through the trusting gateway (the ingress's word counts), the owner's address is clean.
        assert Person("203.0.113.23").try_login(platform.issuer, victim, PASSWORD) == (302, "")


def test_the_throttle_stores_keyed_hashes_only(stack, platform, registrar_token):
    victim = create_citizen(platform, registrar_token)
    address = "198.51.100.12"
    Person(address).fail_many(platform.issuer, victim, 2)
    with psycopg.connect(stack.postgres.dsn(DATABASE)) as connection:
        tables = [name for (name,) in connection.execute(
            "SELECT schemaname || '.' || tablename FROM pg_tables WHERE tablename LIKE '%login_throttle%'")]
        keys = [key for table in tables for (key,) in connection.execute(f"SELECT key FROM {table}")]
    assert keys
    plain_hashes = {hashlib.sha256(value.encode()).hexdigest() for value in (address, victim, f"source:{address}")}
    for key in keys:
        kind, _, digest = key.partition(":")
        assert kind in ("pair", "account", "source") and len(digest) == 64, key
        assert address not in key and victim not in key and digest not in plain_hashes
