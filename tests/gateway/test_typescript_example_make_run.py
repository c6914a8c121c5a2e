"""The TypeScript example's README steps as they are, against a stack configured as `make run`
configures it: the development OIDC clients of infra/local/oidc (motcua-portal, its redirect
URI), the seeded development accounts (the citizen 038190001234 and their password) and
nothing given to the example but the gateway's URL, so that what a frontend developer runs
after `make run` is what is tested (test_typescript_example.py covers the same code with the
test clients and accounts)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from motcua.devstack import repo_root
from motcua.devstack.seed import SEEDS, run_seeds
from motcua.devstack.services import OIDC_DEV_FILES
from tests.identity.oidc_support import start_behind_gateway

EXAMPLE = repo_root() / "examples" / "typescript"
# What make run seeds into identity: the agency tree the officers belong to, and the accounts.
IDENTITY_SEEDS = tuple(seed for seed in SEEDS if seed.service == "identity")


@pytest.fixture(scope="module")
def stack_like_make_run(stack, tmp_path_factory):
    folder = tmp_path_factory.mktemp("ts-make-run")
    clients = json.loads((OIDC_DEV_FILES / "clients.json").read_text(encoding="utf-8"))
    started = start_behind_gateway(stack, folder, "motcua_identity_tsrun", services=("dossiers",),
                                   clients=clients, own_accounts=True, MOTCUA_IDENTITY_DEV_TOKENS="true")
    try:
        failures = run_seeds({"identity": started.identity.addr}, folder / "seed.log", IDENTITY_SEEDS)
        assert not failures, (failures, (folder / "seed.log").read_text(errors="replace")[-3000:])
        yield started
    finally:
        started.stop()


def test_the_readme_steps_list_the_development_citizens_dossiers(stack_like_make_run):
    node = shutil.which("node")
    script = EXAMPLE / "dist" / "list-dossiers.js"
    if node is None or not script.is_file():
        pytest.fail("the example is not built: `make typescript-client` (Node.js and npm)")
    # Only the URL: make run's gateway is on 8080, a test stack's on a free port.
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("MOTCUA_")},
           "MOTCUA_URL": stack_like_make_run.issuer, "NO_PROXY": "127.0.0.1"}
    result = subprocess.run([node, str(script)], capture_output=True, text=True, timeout=60, env=env, cwd=EXAMPLE)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "0 dossier(s)", result.stdout
