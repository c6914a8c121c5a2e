"""The TypeScript example (examples/typescript: a client generated from docs/api/openapi.json by
openapi-typescript, built with tsc by `make typescript-client`) logs in with code + PKCE at a real
OIDC provider behind a real gateway and lists the citizen's dossiers from the real service."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from motcua.devstack import repo_root
from tests.identity.oidc_support import CITIZEN, PASSWORD, SPA, SPA_REDIRECT, start_behind_gateway

EXAMPLE = repo_root() / "examples" / "typescript"


@pytest.fixture(scope="module")
def op(stack, tmp_path_factory):
    started = start_behind_gateway(stack, tmp_path_factory.mktemp("ts-example"), "motcua_identity_ts",
                                   services=("dossiers",))
    yield started
    started.stop()


def run_example(op, password: str) -> subprocess.CompletedProcess:
    node = shutil.which("node")
    script = EXAMPLE / "dist" / "list-dossiers.js"
    if node is None or not script.is_file():
        pytest.fail("the example is not built: `make typescript-client` (Node.js and npm)")
    env = {**os.environ, "MOTCUA_URL": op.issuer, "MOTCUA_CLIENT_ID": SPA, "MOTCUA_REDIRECT_URI": SPA_REDIRECT,
           "MOTCUA_LOGIN": CITIZEN["login"], "MOTCUA_PASSWORD": password, "NO_PROXY": "127.0.0.1"}
    return subprocess.run([node, str(script)], capture_output=True, text=True, timeout=60, env=env, cwd=EXAMPLE)


def test_the_example_logs_in_and_lists_the_citizens_dossiers(op):
    result = run_example(op, PASSWORD)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "0 dossier(s)", result.stdout


def test_the_example_says_when_the_login_is_refused(op):
    result = run_example(op, "not the password")
    assert result.returncode != 0
    assert "the login was refused (401)" in result.stderr, result.stderr
