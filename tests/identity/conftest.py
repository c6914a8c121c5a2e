"""Fixtures of the identity tests: the session's identity service, with the sample agency
tree seeded through the command-line importer."""

from __future__ import annotations

import pytest

from motcua.identity.v1.role_pb2 import Role
from tests.support.identity import PROVINCE, identity_service_stub, province_admin_token, seed_agencies, token


@pytest.fixture(scope="session")
def identity_addr(stack) -> str:
    return stack.identity.addr


@pytest.fixture(scope="session")
def agency_tree(identity_addr) -> str:
    """Seeds the sample tree (idempotent: other modules may have seeded it already)."""
    result = seed_agencies(identity_addr)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture
def province_admin(identity_addr, agency_tree):
    """An administrator of the whole province."""
    return identity_service_stub(identity_addr, province_admin_token())


@pytest.fixture
def registrar(identity_addr, agency_tree):
    """The province's administrator who is also a credential officer: opens citizens' and
    businesses' accounts and resets their credentials besides administering officers."""
    return identity_service_stub(identity_addr, token(Role.ROLE_ADMINISTRATOR, Role.ROLE_CREDENTIAL_OFFICER,
                                                      agency_id=PROVINCE))
