"""One role vocabulary (motcua.kernel.roles): the proto enum, tokens, RPC declarations and
identity's grants all name the same roles, mapped to the enum in one place."""

from __future__ import annotations

import pytest

from motcua.identity.domain import GRANTABLE_ROLES as IDENTITY_GRANTABLE, ROLES as IDENTITY_ROLES
from motcua.identity.v1.role_pb2 import Role
from motcua.kernel.context import Actor, Grant
from motcua.kernel.role_protos import role_enum, role_name
from motcua.kernel.roles import APPLICANT, DESK_OFFICER, GRANTABLE_ROLES, ROLES
from tests.support.rpcs import methods


def test_the_proto_enum_names_exactly_the_vocabulary_in_its_order():
    named = [role_name(v) for v in Role.values() if v != Role.ROLE_UNSPECIFIED]
    assert tuple(named) == ROLES
    assert [role_enum(r) for r in ROLES] == sorted(v for v in Role.values() if v != Role.ROLE_UNSPECIFIED)


def test_stored_role_names_never_change():
    # Identity's stored grants and every token hold these strings.
    assert ROLES == ("applicant", "desk_officer", "specialist", "department_head", "leader", "administrator",
                     "auditor", "credential_officer", "data_protection_officer")


def test_names_outside_the_enum_are_value_errors():
    assert role_name(Role.ROLE_UNSPECIFIED) == "unspecified"
    with pytest.raises(ValueError):
        role_enum("chủ tịch")
    with pytest.raises(ValueError):
        role_name(99)


def test_identity_grants_the_kernels_roles_but_the_applicants():
    assert IDENTITY_ROLES == ROLES
    assert IDENTITY_GRANTABLE == GRANTABLE_ROLES == tuple(r for r in ROLES if r != APPLICANT)


def test_a_home_agency_lends_itself_to_every_role_but_the_applicants():
    actor = Actor("s", agency_id="000.00.10.H56", roles=(APPLICANT, DESK_OFFICER))
    assert actor.grants == (Grant(DESK_OFFICER, "000.00.10.H56"),)


def test_every_rpc_requires_roles_of_the_vocabulary():
    declared = {role for _, policy in methods() for role in policy.roles}
    assert declared and declared <= set(ROLES)
