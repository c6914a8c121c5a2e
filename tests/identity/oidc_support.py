"""An OIDC provider for tests: an identity process of its own (own database, keys, clients
and accounts) behind a gateway whose URL is the public issuer, and a procedures service
trusting that issuer; plus a browser that fills in the login page like a person."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx2

from motcua.devstack import ServiceProcess, free_port
from motcua.devstack.services import gateway_env

SPA = "test-spa"
SPA_REDIRECT = "http://127.0.0.1:5173/callback"
SPA_LOGOUT = "http://127.0.0.1:5173/"
SERVICE = "test-service"
SERVICE_SECRET = "a-long-random-service-secret-for-tests"
PASSWORD = "Mật-khẩu-thử-2026"
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"

OFFICER: dict[str, Any] = {
    "account_id": "0b9c1f4e-1111-4000-8000-000000000001",
    "login": "le.van.tam",
    "password": PASSWORD,
    "display_name": "Lê Văn Tâm",
    "roles": ["administrator"],
    "agency_id": "000.00.10.H56",
    "email": "tam@example.invalid",
}
CITIZEN: dict[str, Any] = {
    "account_id": "0b9c1f4e-1111-4000-8000-000000000002",
    "login": "038190001234",
    "password": PASSWORD,
    "display_name": "Nguyễn Thị Hằng",
    "roles": ["applicant"],
    "personal_id_number": "038190001234",
}
MFA_OFFICER: dict[str, Any] = {
    "account_id": "0b9c1f4e-1111-4000-8000-000000000003",
    "login": "tran.thi.mai",
    "password": PASSWORD,
    "totp_secret": TOTP_SECRET,
    "display_name": "Trần Thị Mai",
    "roles": ["desk_officer"],
    "agency_id": "000.00.10.H56",
}

CLIENTS = [
    {"client_id": SPA, "client_name": "Cổng dịch vụ công <thử>", "token_endpoint_auth_method": "none",
     "grant_types": ["authorization_code", "refresh_token"], "redirect_uris": [SPA_REDIRECT],
     "post_logout_redirect_uris": [SPA_LOGOUT],
     "scope": "openid profile email roles personal_id offline_access api"},
    {"client_id": SERVICE, "client_secret": SERVICE_SECRET, "token_endpoint_auth_method": "client_secret_basic",
     "grant_types": ["client_credentials"], "scope": "api", "roles": ["administrator"], "agency_id": "000.00.10.H56"},
]


def write_json(path: Path, data: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


@dataclass
class OidcStack:
    issuer: str
    identity: ServiceProcess
    identity_http: str
    gateway: ServiceProcess | None = None
    procedures: ServiceProcess | None = None
    processes: list[ServiceProcess] = field(default_factory=list)

    def discovery(self) -> dict:
        return httpx2.get(f"{self.issuer}/.well-known/openid-configuration", trust_env=False).json()

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.alive:
                assert process.terminate() == 0, process.log_path.read_text()


def start_identity(stack, folder: Path, *, database: str, issuer: str | None = None, http_port: int | None = None,
                   clients: list | None = None, accounts: list | None = None, own_accounts: bool = False,
                   **env: str) -> tuple[ServiceProcess, str]:
    """An identity process of its own; returns it and its internal HTTP URL. Logins go against
    development accounts from a file (``accounts``, default the three above), or with
    ``own_accounts`` against the accounts created through identity's API."""
    http_port = http_port or free_port()
    internal = f"http://127.0.0.1:{http_port}"
    stack.postgres.create_database(database)
    if not own_accounts:
        env["MOTCUA_IDENTITY_OIDC_DEV_ACCOUNTS"] = str(write_json(
            folder / "accounts.json", [OFFICER, CITIZEN, MFA_OFFICER] if accounts is None else accounts))
    process = stack.service(
        "identity",
        POSTGRES_DBNAME=database,
        MOTCUA_HTTP_ADDR=f"127.0.0.1:{http_port}",
        MOTCUA_IDENTITY_DIR=str(folder),
        MOTCUA_AUTH_ISSUER=issuer or internal,
        MOTCUA_AUTH_JWKS_URL=f"{internal}/.well-known/jwks.json",
        MOTCUA_IDENTITY_OIDC_CLIENTS=str(write_json(folder / "clients.json", CLIENTS if clients is None else clients)),
        **env,
    )
    return process.start(), internal


def start_behind_gateway(stack, folder: Path, database: str, services: tuple[str, ...] = ("procedures",),
                         gateway_extra: dict[str, str] | None = None, gateway_port: int | None = None,
                         **env) -> OidcStack:
    """identity, then the services (trusting the gateway's URL as the issuer), then the gateway
    (with gateway_extra in its environment)."""
    gateway_port = gateway_port or free_port()
    issuer = f"http://127.0.0.1:{gateway_port}"
    identity, internal = start_identity(stack, folder, database=database, issuer=issuer, **env)
    auth = {"MOTCUA_AUTH_ISSUER": issuer, "MOTCUA_AUTH_JWKS_URL": f"{internal}/.well-known/jwks.json"}
    started = {name: stack.service(name, **auth).start() for name in services}
    gateway_http = int(internal.rpartition(":")[2])
    backends = {"identity": identity.addr, **{name: process.addr for name, process in started.items()}}
    gw_env = gateway_env(gateway_port, backends, gateway_extra, identity_http_port=gateway_http)
    gateway = ServiceProcess("gateway", gw_env, stack.logs / f"gateway-{gateway_port}.log",
                             ready_url=f"{issuer}/livez").start(timeout=30)
    return OidcStack(issuer, identity, internal, gateway, started.get("procedures"),
                     [identity, *started.values(), gateway])


class LoginForm:
    """The login page as a browser sees it."""

    def __init__(self, response: httpx2.Response) -> None:
        self.response = response
        self.html = response.text
        action = re.search(r'<form method="post" action="([^"]*)"', self.html)
        assert action, self.html
        self.action = urljoin(str(response.url), unescape(action.group(1)))
        self.fields = {unescape(m.group(1)): unescape(m.group(2))
                       for m in re.finditer(r'<input type="hidden" name="([^"]*)" value="([^"]*)"', self.html)}
        self.asks_totp = 'name="totp"' in self.html
        error = re.search(r'<p class="error" role="alert">([^<]*)</p>', self.html)
        self.error = unescape(error.group(1)) if error else ""


class Browser:
    """Cookies and redirects by hand: each step is looked at."""

    def __init__(self) -> None:
        self.http = httpx2.Client(trust_env=False, follow_redirects=False, timeout=20)

    def open(self, url: str) -> httpx2.Response:
        return self.http.get(url)

    def login_form(self, url: str) -> LoginForm:
        response = self.open(url)
        assert response.status_code == 200, (response.status_code, response.headers.get("location"), response.text)
        return LoginForm(response)

    def submit(self, form: LoginForm, **fields: str) -> httpx2.Response:
        return self.http.post(form.action, data={**form.fields, **fields})

    def log_in(self, authorize_url: str, login: str, password: str = PASSWORD) -> str:
        """The URL the provider sends the browser back to (the client's, with the code)."""
        response = self.submit(self.login_form(authorize_url), login=login, password=password)
        assert response.status_code == 302, (response.status_code, response.text)
        return response.headers["location"]


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
