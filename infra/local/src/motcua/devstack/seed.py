"""Sample data for the local stack, loaded through the services' own APIs once they are healthy.

Every seed is an idempotent import run as a subprocess against the running services, so
`motcua-stack up` may run them at every start: data already there changes nothing. A new
kind of sample data (e.g. the working-day calendars) is one more entry in SEEDS.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .profiles import repo_root

SEED_DIR = Path("infra/local/seed")


@dataclass(frozen=True)
class Seed:
    name: str
    service: str  # whose gRPC address the command gets in MOTCUA_<SERVICE>_ADDR
    args: tuple[str, ...]  # after `python -m`, relative to the repository root


SEEDS = (
    # The sample procedures name their agency only sometimes: the others are given to the
    # province's public administration service center, which receives dossiers of every level.
    Seed(
        "procedures",
        "procedures",
        ("motcua.procedures.importer", str(SEED_DIR / "procedures.sample.json"), "--agency", "000.00.01.H56", "--quiet"),
    ),
)


def run_seeds(addresses: dict[str, str], log_path: Path, seeds: tuple[Seed, ...] = SEEDS) -> dict[str, str]:
    """Runs each seed whose service is known; returns {seed: why it failed}. Output goes to log_path."""
    failures: dict[str, str] = {}
    log_path.parent.mkdir(parents=True, exist_ok=True)
    for seed in seeds:
        if seed.service not in addresses:
            continue
        env = {**os.environ, f"MOTCUA_{seed.service.upper()}_ADDR": addresses[seed.service]}
        with open(log_path, "ab") as log:
            log.write(f"--- seed {seed.name}\n".encode())
            log.flush()
            done = subprocess.run(
                [sys.executable, "-m", *seed.args], cwd=repo_root(), env=env, stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, timeout=600,
            )
        if done.returncode != 0:
            failures[seed.name] = f"exit code {done.returncode}; see {log_path}"
    return failures
