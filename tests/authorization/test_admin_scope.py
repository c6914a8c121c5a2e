"""Administrators are scoped to their grants' agency subtrees, through real processes: in
identity (officers of the subtree only; citizens' credentials only by the narrow, audited
credential-officer role; account lists filtered) and in dossiers (the agency tree replicated
from identity's events)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator

import grpc
import pyotp
import pytest
from google.rpc import error_details_pb2

from motcua.dossiers.v1 import dossier_service_pb2 as dpb
from motcua.identity.domain.credentials import credentials_id
from motcua.identity.v1 import account_pb2, identity_service_pb2 as ipb
from motcua.identity.v1.role_pb2 import Role
from tests.support import auth
from tests.support.clients import details, dossiers_stub, field_violations
from tests.support.dossiers import applicant, published_full_procedure, submit_request
from tests.support.identity import (
    PROVINCE,
    identity_service_stub,
    seed_agencies,
    token,
    unique_login,
    unique_personal_id,
    unique_phone,
)
from tests.support.waiting import eventually

COMMUNE_A = "000.21.30.H56"  # communes of the sample tree, both under the province
COMMUNE_B = "000.22.40.H56"
JUSTICE = "000.00.10.H56"  # a department

CITIZEN = account_pb2.ACCOUNT_KIND_CITIZEN
OFFICER = account_pb2.ACCOUNT_KIND_OFFICER


def refused(call) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        call()
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED, caught.value.details()
    return caught.value


def reason_of(error: grpc.RpcError) -> str:
    (info,) = details(error, error_details_pb2.ErrorInfo)
    return info.reason


@pytest.fixture(scope="module")
def identity(stack) -> str:
    result = seed_agencies(stack.identity.addr)
    assert result.returncode == 0, result.stdout + result.stderr
    return stack.identity.addr


def stub_of(identity: str, *roles: Role.ValueType, agency_id: str = "", account_id: str = ""):
    return identity_service_stub(identity, token(*roles, agency_id=agency_id, account_id=account_id))


@pytest.fixture(scope="module")
def support_desk(identity):
    """A credential officer: the narrow permission over citizens' credentials."""
    return stub_of(identity, Role.ROLE_CREDENTIAL_OFFICER, agency_id=PROVINCE)


@pytest.fixture(scope="module")
def citizen(identity, support_desk) -> account_pb2.Account:
    return support_desk.CreateAccount(ipb.CreateAccountRequest(
        kind=CITIZEN, display_name="Trịnh Thị Ngọc Ánh", personal_id_number=unique_personal_id(),
        phone=unique_phone(), login=unique_login("anh"), password="mật khẩu ban đầu")).account


def officer_of(identity: str, agency: str, name: str) -> account_pb2.Account:
    admin = stub_of(identity, Role.ROLE_ADMINISTRATOR, agency_id=agency)
    return admin.CreateAccount(ipb.CreateAccountRequest(kind=OFFICER, display_name=name, agency_id=agency)).account


def test_a_commune_administrator_cannot_touch_a_citizens_credentials_or_list_citizens(identity, citizen):
    own_officer = officer_of(identity, COMMUNE_A, "Nông Văn Dền")
    officer_of(identity, COMMUNE_B, "Hứa Thị Mai")
    commune_admin = stub_of(identity, Role.ROLE_ADMINISTRATOR, agency_id=COMMUNE_A)
    error = refused(lambda: commune_admin.SetPassword(ipb.SetPasswordRequest(
        account_id=citizen.account_id, new_password="mật khẩu của kẻ khác", reason="Công dân nhờ")))
    assert reason_of(error) == "ROLE_REQUIRED"
    refused(lambda: commune_admin.DisableTotp(ipb.DisableTotpRequest(account_id=citizen.account_id, reason="Mất máy")))
    refused(lambda: commune_admin.GetAccount(ipb.GetAccountRequest(account_id=citizen.account_id)))
    refused(lambda: commune_admin.DisableAccount(ipb.DisableAccountRequest(account_id=citizen.account_id, reason="x")))
    refused(lambda: commune_admin.CreateAccount(ipb.CreateAccountRequest(
        kind=CITIZEN, display_name="Giả Mạo", personal_id_number=unique_personal_id())))
    # Listing shows no citizen at all, hence no personal id number or phone.
    listed, page_token = [], ""
    while True:
        page = commune_admin.ListAccounts(ipb.ListAccountsRequest(page_size=200, page_token=page_token))
        listed += page.accounts
        page_token = page.next_page_token
        if not page_token:
            break
    assert own_officer.account_id in {a.account_id for a in listed} and {a.kind for a in listed} == {OFFICER}
    assert all(a.agency_id == COMMUNE_A for a in listed)
    assert not any(a.personal_id_number or a.phone for a in listed)
    citizens = commune_admin.ListAccounts(ipb.ListAccountsRequest(kind=CITIZEN)).accounts
    assert list(citizens) == []


def test_a_credential_reset_needs_a_reason_and_is_recorded_with_who_and_why(stack, identity, support_desk, citizen):
    with pytest.raises(grpc.RpcError) as caught:
        support_desk.SetPassword(
            ipb.SetPasswordRequest(account_id=citizen.account_id, new_password="mật khẩu tạm 2026")
        )
    error = caught.value
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and "reason" in field_violations(error)
    reset = support_desk.SetPassword(ipb.SetPasswordRequest(
        account_id=citizen.account_id, new_password="mật khẩu tạm 2026",
        reason="Công dân quên mật khẩu, đã đối chiếu căn cước tại quầy")).account
    assert reset.has_password
    # Their own TOTP, removed by the desk when the phone is lost.
    own = stub_of(identity, Role.ROLE_APPLICANT, account_id=citizen.account_id)
    started = own.StartTotpEnrollment(ipb.StartTotpEnrollmentRequest(account_id=citizen.account_id))
    own.ConfirmTotpEnrollment(
        ipb.ConfirmTotpEnrollmentRequest(account_id=citizen.account_id, code=pyotp.TOTP(started.secret).now())
    )
    removed = support_desk.DisableTotp(
        ipb.DisableTotpRequest(account_id=citizen.account_id, reason="Mất điện thoại")
    ).account
    assert not removed.mfa_enabled

    history = audit_history(stack, str(credentials_id(citizen.account_id)))
    resets = [e for e in history if e["type"] == "Credentials.CredentialsReset"]
    assert [(r["data"]["what"], r["data"]["reason"], r["data"]["by_agency_id"]) for r in resets] == [
        ("password", "Công dân quên mật khẩu, đã đối chiếu căn cước tại quầy", PROVINCE),
        ("second_factor", "Mất điện thoại", PROVINCE)]
    assert all(r["data"]["by"] == r["actor"] and r["actor"] for r in resets)


def audit_history(stack, aggregate_id: str) -> list[dict]:
    # No key: the resets' records are in the clear; only personal fields are sealed (per account).
    env = {**os.environ, "POSTGRES_HOST": stack.postgres.host, "POSTGRES_PORT": str(stack.profile.pg_port),
           "POSTGRES_USER": stack.postgres.user, "POSTGRES_PASSWORD": stack.postgres.password}
    env.pop("POSTGRES_DBNAME", None)
    env.pop("CIPHER_KEY", None)
    audit = [
        os.path.join(os.path.dirname(sys.executable), "motcua-audit"),
        "history",
        "identity",
        aggregate_id,
        "--json",
    ]
    done = subprocess.run(audit, env=env, capture_output=True, text=True, encoding="utf-8", timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_an_administrator_of_one_commune_cannot_administer_an_officer_of_another(identity):
    theirs = officer_of(identity, COMMUNE_B, "Lý Văn Đức")
    commune_admin = stub_of(identity, Role.ROLE_ADMINISTRATOR, agency_id=COMMUNE_A)
    error = refused(lambda: commune_admin.SetPassword(ipb.SetPasswordRequest(
        account_id=theirs.account_id, new_password="mật khẩu mới 2026", reason="Nhờ đặt lại")))
    assert reason_of(error) == "AGENCY_SCOPE"
    refused(lambda: commune_admin.DisableAccount(ipb.DisableAccountRequest(account_id=theirs.account_id, reason="x")))
    refused(lambda: commune_admin.GetAccount(ipb.GetAccountRequest(account_id=theirs.account_id)))


def test_a_province_administrator_administers_a_departments_officer(identity):
    officer = officer_of(identity, JUSTICE, "Hà Thị Minh Thư")
    province_admin = stub_of(identity, Role.ROLE_ADMINISTRATOR, agency_id=PROVINCE)
    reset = province_admin.SetPassword(ipb.SetPasswordRequest(
        account_id=officer.account_id, new_password="mật khẩu tạm thời", reason="Cán bộ mới nhận việc")).account
    assert reset.has_password
    granted = province_admin.GrantRole(ipb.GrantRoleRequest(
        account_id=officer.account_id, role=Role.ROLE_SPECIALIST, agency_id=JUSTICE)).account
    assert [(g.role, g.agency_id) for g in granted.grants] == [(Role.ROLE_SPECIALIST, JUSTICE)]
    listed = province_admin.ListAccounts(ipb.ListAccountsRequest(agency_id=JUSTICE, page_size=1000)).accounts
    assert officer.account_id in {a.account_id for a in listed}


def test_a_desk_officer_at_one_agency_and_administrator_at_another_administers_only_the_second(identity):
    """Grants keep their agencies in the token: the roles' union never meets the other agency."""
    here = officer_of(identity, COMMUNE_A, "Đinh Công Tráng")
    there = officer_of(identity, COMMUNE_B, "Tạ Thị Kim Oanh")
    issued = auth.identity_stub().IssueDevelopmentToken(ipb.IssueDevelopmentTokenRequest(
        roles=[Role.ROLE_DESK_OFFICER], agency_id=COMMUNE_A, display_name="Mạc Văn Khải",
        grants=[ipb.DevelopmentGrant(role=Role.ROLE_ADMINISTRATOR, agency_id=COMMUNE_B)]))
    as_person = identity_service_stub(identity, issued.access_token)
    error = refused(
        lambda: as_person.DisableAccount(ipb.DisableAccountRequest(account_id=here.account_id, reason="thử"))
    )
    assert reason_of(error) == "AGENCY_SCOPE"
    refused(
        lambda: as_person.CreateAccount(
            ipb.CreateAccountRequest(kind=OFFICER, display_name="Ai Đó", agency_id=COMMUNE_A)
        )
    )
    refused(lambda: as_person.GetAccount(ipb.GetAccountRequest(account_id=here.account_id)))
    disabled = as_person.DisableAccount(
        ipb.DisableAccountRequest(account_id=there.account_id, reason="Chuyển công tác")
    ).account
    assert disabled.state == account_pb2.ACCOUNT_STATE_DISABLED


# --- dossiers ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dossiers(stack, identity) -> Iterator[dict[str, str]]:
    started = {name: stack.service(name).start() for name in ("procedures", "dossiers")}
    yield {name: p.addr for name, p in started.items()}
    for process in started.values():
        assert process.terminate() == 0


@pytest.fixture(scope="module")
def procedure_id(dossiers) -> str:
    return published_full_procedure(dossiers["procedures"], dossiers["dossiers"]).procedure_id


def test_dossiers_administrators_act_within_their_subtree_only(dossiers, procedure_id):
    issued = auth.issue(roles=(Role.ROLE_APPLICANT,), agency_id="", display_name="Phùng Thị Thanh")
    mine = dossiers_stub(dossiers["dossiers"], issued.access_token)
    dossier = mine.SubmitDossier(submit_request(procedure_id, COMMUNE_B, applicant=applicant(
        account_id=issued.account_id, full_name="Phùng Thị Thanh"))).dossier

    def as_admin(agency: str):
        return dossiers_stub(
            dossiers["dossiers"], auth.issue(roles=(Role.ROLE_ADMINISTRATOR,), agency_id=agency).access_token
        )

    commune_a = as_admin(COMMUNE_A)
    error = refused(lambda: commune_a.GetDossier(dpb.GetDossierRequest(dossier_id=dossier.dossier_id)))
    assert reason_of(error) == "AGENCY_SCOPE"
    refused(lambda: commune_a.ReceiveDossier(dpb.ReceiveDossierRequest(dossier_id=dossier.dossier_id)))
    # The province's administrator acts in every agency of the province, once dossiers' replica
    # of the tree has the commune (from identity's AgencyCreated events).
    province = as_admin(PROVINCE)
    read = eventually(lambda: province.GetDossier(dpb.GetDossierRequest(dossier_id=dossier.dossier_id)).dossier,
                      what="the agency tree in dossiers")
    assert read.applicant.full_name == "Phùng Thị Thanh"
    received = province.ReceiveDossier(dpb.ReceiveDossierRequest(dossier_id=dossier.dossier_id)).dossier
    assert received.version == dossier.version + 1
    # The commune's own administrator acts on it; a grant at the other commune still does not.
    commune_b = as_admin(COMMUNE_B)
    assert (
        commune_b.GetDossier(dpb.GetDossierRequest(dossier_id=dossier.dossier_id)).dossier.dossier_id
        == dossier.dossier_id
    )
    listed = commune_a.ListDossiers(dpb.ListDossiersRequest(page_size=100)).dossiers
    assert dossier.dossier_id not in {d.dossier_id for d in listed}
    listed = province.ListDossiers(dpb.ListDossiersRequest(page_size=1000)).dossiers
    assert dossier.dossier_id in {d.dossier_id for d in listed}
