"""The kernel's access vocabulary (pure)."""

from __future__ import annotations

import pytest

from motcua.kernel.access import Policy, RoleRequired, require_agency, require_self_or
from motcua.kernel.context import Actor
from motcua.kernel.errors import PermissionDenied


def test_a_policy_is_exactly_one_kind_and_names_known_roles_only():
    for bad in (dict(), dict(public=True, roles=("auditor",)), dict(public=True, authenticated=True),
                dict(roles=("admin",))):
        with pytest.raises(ValueError):
            Policy(**bad)


def test_a_role_policy_names_the_roles_that_may():
    policy = Policy(roles=("desk_officer", "administrator"))
    policy.check(Actor("a", roles=("administrator",)), "receive")
    with pytest.raises(RoleRequired) as refused:
        policy.check(Actor("b", roles=("applicant",)), "receive")
    assert (refused.value.error_reason, refused.value.metadata) == ("ROLE_REQUIRED", {"roles": "desk_officer,administrator"})


def test_agency_scope_by_equality_or_within_a_tree():
    officer = Actor("o", agency_id="000.00.12.H56", roles=("desk_officer",))
    require_agency(officer, "receive", "000.00.12.H56")
    with pytest.raises(PermissionDenied) as refused:
        require_agency(officer, "receive", "000.00.13.H56")
    assert refused.value.error_reason == "AGENCY_SCOPE"
    require_agency(officer, "receive", "000.00.13.H56", within=lambda resource, caller: caller == "000.00.12.H56")
    require_agency(Actor("x", roles=("administrator",)), "receive", "000.00.13.H56", anywhere=("administrator",))


def test_the_owner_or_the_named_roles():
    require_self_or(Actor("acc-1"), "read", "acc-1")
    require_self_or(Actor("auditor-1", roles=("auditor",)), "read", "acc-1", "auditor")
    with pytest.raises(PermissionDenied) as refused:
        require_self_or(Actor("acc-2", roles=("applicant",)), "read", "acc-1", "auditor")
    assert refused.value.error_reason == "NOT_OWNER"
    with pytest.raises(PermissionDenied):
        require_self_or(Actor("acc-2"), "read", "")
