"""The development accounts of `make run` (infra/local/seed/accounts.dev.json), seeded through
identity's API by the real command-line tool, log in at the OIDC provider with their
development passwords, as the README says: no development accounts file involved."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx2
from authlib.integrations.httpx_client import OAuth2Client
from joserfc import jwt
from joserfc.jwk import KeySet

from motcua.devstack import repo_root

from .oidc_support import Browser, query_of

SEED_FILE = repo_root() / "infra" / "local" / "seed" / "accounts.dev.json"
PORTAL = "motcua-portal"  # infra/local/oidc/clients.json
PORTAL_REDIRECT = "http://127.0.0.1:5173/callback"


def seed_accounts(addr: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "motcua.identity.seed_accounts", str(SEED_FILE), "--addr", addr,
                           "--dev-token"], capture_output=True, text=True, timeout=120)


def log_in(issuer: str, login: str, password: str) -> dict:
    client = OAuth2Client(client_id=PORTAL, token_endpoint_auth_method="none", redirect_uri=PORTAL_REDIRECT,
                          scope="openid profile roles", code_challenge_method="S256", trust_env=False)
    verifier = "d" * 64
    url, state = client.create_authorization_url(f"{issuer}/oauth2/authorize", code_verifier=verifier)
    back = Browser().log_in(url, login, password)
    assert query_of(back)["state"] == state
    return client.fetch_token(f"{issuer}/oauth2/token", authorization_response=back, code_verifier=verifier)


def test_the_development_accounts_are_seeded_once_and_log_in(stack, agency_tree):
    first = seed_accounts(stack.identity.addr)
    assert first.returncode == 0, first.stdout + first.stderr
    again = seed_accounts(stack.identity.addr)
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.strip().endswith("0 created, 3 unchanged, 0 granted, 0 failed"), again.stdout

    issuer = stack.auth_env["MOTCUA_AUTH_ISSUER"]  # the session's identity is its own issuer
    keys = KeySet.import_key_set(httpx2.get(f"{issuer}/.well-known/jwks.json", trust_env=False).json())
    expected = {"quan.tri": (["administrator"], "000.00.00.H56"), "le.van.tam": (["desk_officer"], "000.00.10.H56"),
                "038190001234": (["applicant"], None)}
    for entry in json.loads(SEED_FILE.read_text(encoding="utf-8")):
        login = entry.get("login") or entry["personal_id_number"]
        tokens = log_in(issuer, login, entry["password"])
        claims = jwt.decode(tokens["access_token"], keys, algorithms=["ES256"]).claims
        assert (claims["roles"], claims.get("agency_id")) == expected[login], claims
        assert jwt.decode(tokens["id_token"], keys, algorithms=["ES256"]).claims["name"] == entry["display_name"]
