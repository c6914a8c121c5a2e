"""Role grants over real gRPC: administrators grant within their agency subtree, to
officers only; each grant and revocation is an event, published for other services."""

from __future__ import annotations

import grpc
import pytest

from motcua.identity.v1 import account_pb2, events_pb2, identity_service_pb2 as pb
from motcua.identity.v1.role_pb2 import Role
from tests.support.clients import field_violations
from tests.support.identity import identity_service_stub, token, unique_personal_id
from tests.support.topics import find_envelope

FINANCE = "000.00.12.H56"
JUSTICE = "000.00.10.H56"


def failure(call) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        call()
    return caught.value


@pytest.fixture
def finance_admin(identity_addr, agency_tree):
    issued_token = token(Role.ROLE_ADMINISTRATOR, agency_id=FINANCE)
    return identity_service_stub(identity_addr, issued_token)


def officer(stub, agency_id: str, name: str = "Đặng Thị Thu") -> account_pb2.Account:
    return stub.CreateAccount(pb.CreateAccountRequest(
        kind=account_pb2.ACCOUNT_KIND_OFFICER, display_name=name, agency_id=agency_id)).account


def test_an_administrator_grants_and_revokes_roles_within_their_subtree(stack, finance_admin):
    account = officer(finance_admin, FINANCE)
    granted = finance_admin.GrantRole(pb.GrantRoleRequest(
        account_id=account.account_id, role=Role.ROLE_DESK_OFFICER, agency_id=FINANCE)).account
    assert [(g.role, g.agency_id) for g in granted.grants] == [(Role.ROLE_DESK_OFFICER, FINANCE)]
    assert granted.grants[0].grant_time.seconds > 0
    # Granting it again changes nothing.
    again = finance_admin.GrantRole(pb.GrantRoleRequest(
        account_id=account.account_id, role=Role.ROLE_DESK_OFFICER, agency_id=FINANCE)).account
    assert again.version == granted.version
    revoked = finance_admin.RevokeRole(pb.RevokeRoleRequest(
        account_id=account.account_id, role=Role.ROLE_DESK_OFFICER, agency_id=FINANCE)).account
    assert list(revoked.grants) == [] and revoked.version == granted.version + 1

    envelope = find_envelope(
        stack.kafka.bootstrap,
        "motcua.identity.events.v1",
        lambda e: e.aggregate_id == account.account_id and e.type == "motcua.identity.v1.RoleGranted",
    )
    event = events_pb2.RoleGranted()
    envelope.payload.Unpack(event)
    assert (event.role, event.agency_id) == (Role.ROLE_DESK_OFFICER, FINANCE)
    assert envelope.actor.agency_id == FINANCE  # who granted it travels with the event
    find_envelope(stack.kafka.bootstrap, "motcua.identity.events.v1",
                  lambda e: e.aggregate_id == account.account_id and e.type == "motcua.identity.v1.RoleRevoked")


def test_granting_outside_the_administrators_subtree_is_denied(finance_admin, province_admin):
    mine = officer(finance_admin, FINANCE)
    error = failure(lambda: finance_admin.GrantRole(pb.GrantRoleRequest(
        account_id=mine.account_id, role=Role.ROLE_SPECIALIST, agency_id=JUSTICE)))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    theirs = officer(province_admin, JUSTICE, "Bùi Quang Huy")
    error = failure(lambda: finance_admin.GrantRole(pb.GrantRoleRequest(
        account_id=theirs.account_id, role=Role.ROLE_SPECIALIST, agency_id=FINANCE)))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    # The province's administrator is above both.
    granted = province_admin.GrantRole(pb.GrantRoleRequest(
        account_id=theirs.account_id, role=Role.ROLE_LEADER, agency_id=JUSTICE)).account
    assert [g.role for g in granted.grants] == [Role.ROLE_LEADER]


def test_only_officers_get_roles_and_applicant_is_not_granted(finance_admin, province_admin, registrar):
    citizen = registrar.CreateAccount(pb.CreateAccountRequest(
        kind=account_pb2.ACCOUNT_KIND_CITIZEN, display_name="Ngô Bảo Châu",
        personal_id_number=unique_personal_id())).account
    error = failure(lambda: province_admin.GrantRole(pb.GrantRoleRequest(
        account_id=citizen.account_id, role=Role.ROLE_AUDITOR, agency_id=FINANCE)))
    assert "account_id" in field_violations(error)
    account = officer(finance_admin, FINANCE)
    error = failure(lambda: finance_admin.GrantRole(pb.GrantRoleRequest(
        account_id=account.account_id, role=Role.ROLE_APPLICANT, agency_id=FINANCE)))
    assert "role" in field_violations(error)
    error = failure(lambda: finance_admin.GrantRole(pb.GrantRoleRequest(
        account_id=account.account_id, role=Role.ROLE_AUDITOR, agency_id="000.00.12.T99")))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violations(error) == {"agency_id": "no agency 000.00.12.T99"}
