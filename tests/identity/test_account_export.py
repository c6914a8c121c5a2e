"""Everything identity holds about an account's person (ExportAccountData, on the session's
identity process over gRPC): the owner gets it; a data-protection officer only where their grant
covers the account (an officer's agency, or the top of the tree for a citizen, whose account
belongs to no agency); nobody else, administrators included."""

from __future__ import annotations

import json

import grpc
import pytest

from motcua.identity.v1 import account_pb2, identity_service_pb2 as pb
from motcua.identity.v1.role_pb2 import Role
from tests.support.identity import PROVINCE, identity_service_stub, token, unique_login, unique_personal_id

DISTRICT = "000.00.10.H56"  # below the province in the sample tree
OTHER_DISTRICT = "000.00.01.H56"


def refused(call, request) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as failure:
        call(request)
    assert failure.value.code() == grpc.StatusCode.PERMISSION_DENIED, failure.value.details()
    return failure.value


def test_an_accounts_data_goes_to_its_owner_and_the_data_protection_officers_covering_it(identity_addr, registrar):
    citizen = registrar.CreateAccount(pb.CreateAccountRequest(
        kind=account_pb2.ACCOUNT_KIND_CITIZEN, display_name="Trịnh Thị Thanh Hương", login=unique_login("huong"),
        personal_id_number=unique_personal_id(), phone="0912000111")).account
    officer = registrar.CreateAccount(pb.CreateAccountRequest(
        kind=account_pb2.ACCOUNT_KIND_OFFICER, display_name="Lương Văn Đức", agency_id=DISTRICT)).account
    registrar.GrantRole(pb.GrantRoleRequest(account_id=officer.account_id, role=Role.ROLE_DESK_OFFICER,
                                            agency_id=DISTRICT))

    def as_caller(*roles, agency_id: str = "", account_id: str = ""):
        return identity_service_stub(identity_addr, token(*roles, agency_id=agency_id, account_id=account_id))

    own = as_caller(Role.ROLE_APPLICANT, account_id=citizen.account_id).ExportAccountData(
        pb.ExportAccountDataRequest(account_id=citizen.account_id))
    document = json.loads(own.document)
    assert document["account"]["display_name"] == "Trịnh Thị Thanh Hương"
    assert document["account"]["phone"] == citizen.phone and own.sign_ins == len(document["sign_ins"]) == 0

    province_dpo = as_caller(Role.ROLE_DATA_PROTECTION_OFFICER, agency_id=PROVINCE)
    district_dpo = as_caller(Role.ROLE_DATA_PROTECTION_OFFICER, agency_id=DISTRICT)
    other_dpo = as_caller(Role.ROLE_DATA_PROTECTION_OFFICER, agency_id=OTHER_DISTRICT)
    # A citizen's account: the province's officer only.
    assert json.loads(province_dpo.ExportAccountData(
        pb.ExportAccountDataRequest(account_id=citizen.account_id)).document)["account"]["account_id"] == \
        citizen.account_id
    assert "top of the agency tree" in refused(district_dpo.ExportAccountData,
                                               pb.ExportAccountDataRequest(account_id=citizen.account_id)).details()
    # An officer's account: the officers covering the officer's agency, with the officer's grants.
    exported = json.loads(district_dpo.ExportAccountData(
        pb.ExportAccountDataRequest(account_id=officer.account_id)).document)
    assert exported["grants"] == [{"role": "desk_officer", "agency_id": DISTRICT}]
    refused(other_dpo.ExportAccountData, pb.ExportAccountDataRequest(account_id=officer.account_id))
    # Nobody else: an administrator of the whole province, another citizen.
    refused(as_caller(Role.ROLE_ADMINISTRATOR, Role.ROLE_CREDENTIAL_OFFICER, agency_id=PROVINCE).ExportAccountData,
            pb.ExportAccountDataRequest(account_id=citizen.account_id))
    refused(as_caller(Role.ROLE_APPLICANT, account_id=officer.account_id).ExportAccountData,
            pb.ExportAccountDataRequest(account_id=citizen.account_id))
