"""The identity application authorizes every use case itself, for the very account or agency,
whoever calls it (the gRPC servicer only translates): in-process, on a real PostgreSQL."""

from __future__ import annotations

import pytest

from motcua.identity.bootstrap import build_application
from motcua.identity.config import IdentityConfig
from motcua.identity.domain import Profile
from motcua.kernel.context import Actor, Grant, acting_as
from motcua.kernel.errors import PermissionDenied
from tests.support.identity import unique_login, unique_personal_id

PROVINCE = "000.00.00.H57"
DEPARTMENT = "000.00.10.H57"
OTHER_DEPARTMENT = "000.00.11.H57"
PASSWORD = "Mật khẩu rất dài 2026"


def administrator_of(agency: str) -> Actor:
    return Actor(subject=f"test:administrator:{agency}", agency_id=agency, roles=("administrator",),
                 grants=(Grant("administrator", agency),))


@pytest.fixture(scope="module")
def app(stack, tmp_path_factory):
    database = "motcua_identity_access"
    stack.postgres.create_database(database)
    config = IdentityConfig.from_env({"MOTCUA_IDENTITY_DIR": str(tmp_path_factory.mktemp("identity"))})
    app, _ = build_application(stack.settings("identity", POSTGRES_DBNAME=database), config)
    with acting_as(administrator_of(PROVINCE)):
        app.create_agency(PROVINCE, "Tỉnh thử nghiệm", "province")
        app.create_agency(DEPARTMENT, "Sở Tư pháp", "department", PROVINCE)
        app.create_agency(OTHER_DEPARTMENT, "Sở Xây dựng", "department", PROVINCE)
    try:
        yield app
    finally:
        app.close()


def refused(call) -> PermissionDenied:
    with pytest.raises(PermissionDenied) as caught:
        call()
    return caught.value


def test_roles_are_granted_only_by_administrators_of_the_agency_s_subtree(app):
    with acting_as(administrator_of(DEPARTMENT)):
        officer = app.create_account(Profile(kind="officer", display_name="Trần Thị Lý", login=unique_login("ly"),
                                             agency_id=DEPARTMENT), PASSWORD)
    with acting_as(administrator_of(OTHER_DEPARTMENT)):
        assert refused(lambda: app.grant_role(officer.account_id, "leader", DEPARTMENT)).error_reason == "AGENCY_SCOPE"
        assert refused(lambda: app.disable_account(officer.account_id, "Nghỉ việc")).error_reason == "AGENCY_SCOPE"
        assert refused(lambda: app.get_account(officer.account_id)).error_reason == "NOT_OWNER"
        assert refused(lambda: app.rename_agency(DEPARTMENT, "Sở Tư pháp mới")).error_reason == "AGENCY_SCOPE"
    with acting_as(Actor(subject="anonymous")):
        assert refused(lambda: app.list_accounts()).error_reason == "ROLE_REQUIRED"
    assert app.account_view(officer.account_id).grants == ()  # nothing was written
    with acting_as(administrator_of(PROVINCE)):  # from above the agency
        assert [g.role for g in app.grant_role(officer.account_id, "leader", DEPARTMENT).grants] == ["leader"]


def test_a_citizen_s_credentials_are_reset_by_a_credential_officer_only_and_changed_by_their_owner(app):
    with acting_as(administrator_of(PROVINCE)):
        assert refused(lambda: app.create_account(Profile(kind="citizen", display_name="Vũ Văn Nam",
                                                          personal_id_number=unique_personal_id()), PASSWORD)
                       ).error_reason == "ROLE_REQUIRED"
    with acting_as(Actor(subject="test:credential-officer", roles=("credential_officer",))):
        citizen = app.create_account(Profile(kind="citizen", display_name="Vũ Văn Nam",
                                             personal_id_number=unique_personal_id()), PASSWORD)
    with acting_as(administrator_of(PROVINCE)):
        assert refused(lambda: app.set_password(citizen.account_id, "mật khẩu khác dài", reason="Quên")
                       ).error_reason == "ROLE_REQUIRED"
        assert refused(lambda: app.start_totp_enrollment(citizen.account_id)).error_reason == "NOT_OWNER"
    with acting_as(Actor(subject=str(citizen.account_id), roles=("applicant",))):
        assert app.get_account(citizen.account_id).display_name == "Vũ Văn Nam"
        assert app.start_totp_enrollment(citizen.account_id).secret
