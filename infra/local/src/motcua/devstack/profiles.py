"""Where the local stack lives and which ports it uses."""

from __future__ import annotations

import dataclasses
import os
import subprocess
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

SERVICES = ("identity", "procedures", "dossiers", "signing", "notifications")


@cache
def repo_root() -> Path:
    """The checkout this package belongs to (MOTCUA_ROOT overrides)."""
    if env := os.environ.get("MOTCUA_ROOT"):
        return Path(env).resolve()
    # Editable install: the package sits inside the checkout.
    for parent in Path(__file__).resolve().parents:
        if (parent / "infra" / "kafka" / "pom.xml").is_file():
            return parent
    out = subprocess.run(
        ["git", "rev-parse", "--show-toplevel"], capture_output=True, text=True, check=True
    )
    return Path(out.stdout.strip())


@dataclass(frozen=True)
class Profile:
    name: str
    root: Path  # everything this profile writes: data, logs, pid files
    pg_port: int
    kafka_port: int
    controller_port: int
    service_ports: dict[str, int] = field(default_factory=dict)
    gateway_port: int | None = None
    identity_http_port: int | None = None  # the JWKS every service verifies tokens with
    ephemeral: bool = False  # test profile: data wiped, durability traded for speed

    def service_addr(self, service: str) -> str:
        return f"127.0.0.1:{self.service_ports[service]}"


def _local() -> Path:
    return repo_root() / ".local"


PROFILES: dict[str, Profile] = {
    "run": Profile(
        name="run",
        root=_local() / "run",
        pg_port=15432,
        kafka_port=19092,
        controller_port=19093,
        # Below the kernel's ephemeral range (32768-60999): a fixed port in it can already be
        # the local end of another process's connection (e.g. to PostgreSQL) and fail to bind.
        service_ports=dict(zip(SERVICES, range(15051, 15056), strict=True)),
        gateway_port=8080,
        identity_http_port=8081,
    ),
    # Services under test are started by the tests on free ports, hence no service_ports.
    "test": Profile(
        name="test",
        root=_local() / "test",
        pg_port=25432,
        kafka_port=29092,
        controller_port=29093,
        ephemeral=True,
    ),
}


def profile(name: str) -> Profile:
    """The named profile; for `test`, MOTCUA_TEST_SLOT=N gives its own ports and data folder,
    so that several test sessions can run on one machine at once."""
    base = PROFILES[name]
    slot = int(os.environ.get("MOTCUA_TEST_SLOT", "0") or 0) if name == "test" else 0
    if not slot:
        return base
    shift = 100 * slot
    return dataclasses.replace(
        base,
        name=f"test-{slot}",
        root=base.root.with_name(f"test-{slot}"),
        pg_port=base.pg_port + shift,
        kafka_port=base.kafka_port + shift,
        controller_port=base.controller_port + shift,
    )
