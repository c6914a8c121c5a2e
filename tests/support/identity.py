"""Identity service helpers for tests: stubs that carry a token, tokens of given roles,
unique test data, and the sample agency tree seeded through the real command-line tool."""

from __future__ import annotations

import random
import subprocess
import sys
from functools import cache

from motcua.devstack import repo_root
from motcua.identity.v1 import identity_service_pb2_grpc
from motcua.identity.v1.role_pb2 import Role

from . import auth
from .auth import authorized_channel

PROVINCE = "000.00.00.H56"  # the root of infra/local/seed/agencies.sample.json
REFORM = "2025-07-01"  # the sample tree is the one after the 2025 reform: in force from then
SEED_FILE = repo_root() / "infra" / "local" / "seed" / "agencies.sample.json"


def identity_service_stub(addr: str, token: str | None = None) -> identity_service_pb2_grpc.IdentityServiceStub:
    """IdentityService with a bearer token (default: the session's default caller)."""
    return identity_service_pb2_grpc.IdentityServiceStub(authorized_channel(addr, token))


def token(*roles: Role.ValueType, agency_id: str = "", account_id: str = "") -> str:
    """A development token of these roles (applicant only: no agency needed)."""
    return auth.issue(roles=roles, agency_id=agency_id, account_id=account_id, ttl_seconds=3600).access_token


@cache
def province_admin_token() -> str:
    return token(Role.ROLE_ADMINISTRATOR, agency_id=PROVINCE)


@cache
def province_registrar_token() -> str:
    """The province's administrator who is also a credential officer: opens officers' and
    citizens' accounts alike."""
    return token(Role.ROLE_ADMINISTRATOR, Role.ROLE_CREDENTIAL_OFFICER, agency_id=PROVINCE)


def seed_agencies(addr: str, *args: str) -> subprocess.CompletedProcess:
    """Runs `python -m motcua.identity.seed_agencies` against identity at addr."""
    return subprocess.run([sys.executable, "-m", "motcua.identity.seed_agencies", str(SEED_FILE), "--addr", addr,
                           "--dev-token", "--valid-from", REFORM, *args], capture_output=True, text=True, timeout=120)


def unique_personal_id() -> str:
    return f"038{random.randrange(10**9):09d}"


def unique_tax_code() -> str:
    return f"28{random.randrange(10**8):08d}"


def unique_login(prefix: str = "user") -> str:
    return f"{prefix}.{random.randrange(16**8):08x}"


def unique_phone() -> str:
    return f"09{random.randrange(10**8):08d}"


def unique_eid() -> str:
    """An agency eid that no sample agency has (letter T), new for each run."""
    province, department, unit, serial = (random.randrange(n) for n in (1000, 100, 100, 100))
    return f"{province:03d}.{department:02d}.{unit:02d}.T{serial:02d}"
