"""Sample data for the local stack, loaded through the services' own APIs once they are healthy.

Every seed is an idempotent import run as a subprocess against the running services, so
`motcua-stack up` may run them at every start: data already there changes nothing. A new
kind of sample data (e.g. the working-day calendars) is one more entry in SEEDS.

The seeds call as an administrator, with a development token from the identity service
(the local stack turns development tokens on), passed in MOTCUA_TOKEN.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .profiles import repo_root

SEED_DIR = Path("infra/local/seed")
SEED_AGENCY = "000.00.01.H56"  # the sample province's public administration service center
PROVINCE = "000.00.00.H56"  # the root of the sample agency tree, whose administrator seeds
# Procedures learns the agency tree from identity's events, a moment after the agencies seed:
# until then the province's grant does not reach the agencies (AGENCY_SCOPE refusals, nothing
# written), so those seeds are run again until it does, this long at most.
AGENCY_TREE_WAIT = 120.0
AGENCY_TREE_RETRY = 2.0


@dataclass(frozen=True)
class Seed:
    name: str
    service: str  # whose gRPC address the command gets in MOTCUA_<SERVICE>_ADDR
    args: tuple[str, ...]  # after `python -m`, relative to the repository root
    # Run again while the service refuses for agency scope: it has not learned the tree yet.
    waits_for_agency_tree: bool = False


SEEDS = (
    # The agency tree first, in force since the 2025 reform.
    Seed(
        "agencies",
        "identity",
        ("motcua.identity.seed_agencies", str(SEED_DIR / "agencies.sample.json"), "--valid-from", "2025-07-01"),
    ),
    # People to log in as, with development passwords (README: development logins).
    Seed("accounts", "identity", ("motcua.identity.seed_accounts", str(SEED_DIR / "accounts.dev.json"))),
    # The province-wide working-day calendar of 2026 (holidays, make-up days, hours, cut-off).
    Seed("calendar", "procedures", ("motcua.procedures.calendar_import", str(SEED_DIR / "calendar-2026.json")),
         waits_for_agency_tree=True),
    # The sample procedures name their agency only sometimes: the others are given to the
    # province's public administration service center, which receives dossiers of every level.
    Seed(
        "procedures",
        "procedures",
        ("motcua.procedures.importer", str(SEED_DIR / "procedures.sample.json"), "--agency", SEED_AGENCY, "--quiet"),
        waits_for_agency_tree=True,
    ),
)


def development_token(identity_addr: str) -> str:
    """A development token of the province's administrator from the identity service, also a
    credential officer: the seeded accounts include a citizen, which administrators do not open."""
    # Here, not at the top: the devstack package needs only pgserver and psycopg, and the
    # identity stubs exist only once `make gen` has run.
    import grpc

    from motcua.identity.v1 import identity_service_pb2 as pb, identity_service_pb2_grpc
    from motcua.identity.v1.role_pb2 import Role

    with grpc.insecure_channel(identity_addr) as channel:
        request = pb.IssueDevelopmentTokenRequest(
            roles=[Role.ROLE_ADMINISTRATOR, Role.ROLE_CREDENTIAL_OFFICER], agency_id=PROVINCE,
            display_name="motcua-stack seed",
        )
        return (
            identity_service_pb2_grpc.IdentityServiceStub(channel)
            .IssueDevelopmentToken(request, timeout=30)
            .access_token
        )


def run_seeds(addresses: dict[str, str], log_path: Path, seeds: tuple[Seed, ...] = SEEDS) -> dict[str, str]:
    """Runs each seed whose service is known (and identity, for a token); returns {seed: why it
    failed}. Output goes to log_path."""
    failures: dict[str, str] = {}
    wanted = [seed for seed in seeds if seed.service in addresses]
    if not wanted:
        return failures
    if "identity" not in addresses:
        return {seed.name: "the identity service is not running: no token to call with" for seed in wanted}
    try:
        token = development_token(addresses["identity"])
    except Exception as e:  # noqa: BLE001 - reported as the seeds' failure
        return {seed.name: f"no development token from identity: {e}" for seed in wanted}
    log_path.parent.mkdir(parents=True, exist_ok=True)
    for seed in wanted:
        env = {**os.environ, f"MOTCUA_{seed.service.upper()}_ADDR": addresses[seed.service], "MOTCUA_TOKEN": token}
        returncode = _run_seed(seed, env, log_path)
        if returncode != 0:
            failures[seed.name] = f"exit code {returncode}; see {log_path}"
    return failures


def _run_seed(seed: Seed, env: dict[str, str], log_path: Path) -> int:
    """Runs the seed, again while it is refused for agency scope (bounded); its exit code."""
    deadline = time.monotonic() + AGENCY_TREE_WAIT
    while True:
        done = subprocess.run(
            [sys.executable, "-m", *seed.args], cwd=repo_root(), env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=600,
        )
        with open(log_path, "ab") as log:
            log.write(f"--- seed {seed.name}\n".encode() + done.stdout)
        waiting = (seed.waits_for_agency_tree and done.returncode != 0 and b"AGENCY_SCOPE" in done.stdout
                   and time.monotonic() < deadline)
        if not waiting:
            return done.returncode
        time.sleep(AGENCY_TREE_RETRY)
