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
    assert (refused.value.error_reason, refused.value.metadata) == (
        "ROLE_REQUIRED",
        {"roles": "desk_officer,administrator"},
    )


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


TREE = {"000.21.30.H56": "000.00.00.H56", "000.22.40.H56": "000.00.00.H56", "000.00.00.H56": ""}


def within(agency: str, ancestor: str) -> bool:
    current = agency
    while current:
        if current == ancestor:
            return True
        current = TREE.get(current, "")
    return False


def test_a_grant_holds_for_its_agency_and_below_it_never_for_another_roles_agency():
    from motcua.kernel.access import holds, require_grant
    from motcua.kernel.context import Grant

    person = Actor("p", agency_id="000.21.30.H56", roles=("desk_officer", "administrator"),
                   grants=(Grant("desk_officer", "000.21.30.H56"), Grant("administrator", "000.22.40.H56")))
    assert holds(person, ("administrator",), "000.22.40.H56", within)
    assert not holds(person, ("administrator",), "000.21.30.H56", within)
    assert holds(person, ("desk_officer",), "000.21.30.H56", within)
    assert person.agencies_for("administrator") == ("000.22.40.H56",)
    with pytest.raises(PermissionDenied) as refused:
        require_grant(person, "disable", ("administrator",), "000.21.30.H56", within=within)
    assert refused.value.error_reason == "AGENCY_SCOPE"
    province = Actor("q", agency_id="000.00.00.H56", roles=("administrator",))  # every role at the home agency
    require_grant(province, "disable", ("administrator",), "000.21.30.H56", within=within)
    # An agency the tree does not know is covered only by a grant at itself.
    assert not holds(province, ("administrator",), "000.99.99.T01", within)
    with pytest.raises(RoleRequired):
        require_grant(Actor("c", roles=("applicant",)), "disable", ("administrator",), "000.21.30.H56", within=within)
