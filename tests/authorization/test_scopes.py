"""What the role matrix cannot see: the agency and the owner of the resource, checked by the
services with the kernel's helpers (motcua.kernel.access), through real RPCs."""

from __future__ import annotations

import pytest

from motcua.dossiers.v1 import dossier_service_pb2 as pb
from motcua.identity.v1 import account_pb2, identity_service_pb2 as ipb
from motcua.identity.v1.role_pb2 import Role
from motcua.notifications.v1 import notification_service_pb2 as npb
from tests.support import auth
from tests.support.clients import dossiers_stub, error_reason, notifications_stub
from tests.support.dossiers import applicant, fresh_agency, published_full_procedure, submit_request
from tests.support.identity import identity_service_stub, unique_personal_id, unique_phone


@pytest.fixture(scope="module")
def processes(stack):
    started = {name: stack.service(name).start() for name in ("procedures", "dossiers", "notifications")}
    yield {name: p.addr for name, p in started.items()}
    for process in started.values():
        assert process.terminate() == 0


@pytest.fixture(scope="module")
def procedure_id(processes) -> str:
    return published_full_procedure(processes["procedures"], processes["dossiers"]).procedure_id


def citizen() -> tuple[str, str]:
    issued = auth.issue(roles=(Role.ROLE_APPLICANT,), agency_id="", display_name="Phạm Thị Thu Hà")
    return issued.account_id, issued.access_token


def test_a_desk_officer_of_another_agency_cannot_receive_a_dossier(processes, procedure_id):
    agency, other = fresh_agency(), fresh_agency()
    account_id, token = citizen()
    dossier = dossiers_stub(processes["dossiers"], token).SubmitDossier(
        submit_request(procedure_id, agency, applicant=applicant(account_id=account_id))).dossier
    stranger = dossiers_stub(
        processes["dossiers"], auth.issue(roles=(Role.ROLE_DESK_OFFICER,), agency_id=other).access_token
    )
    assert (
        error_reason(lambda: stranger.ReceiveDossier(pb.ReceiveDossierRequest(dossier_id=dossier.dossier_id)))
        == "AGENCY_SCOPE"
    )
    desk = dossiers_stub(
        processes["dossiers"], auth.issue(roles=(Role.ROLE_DESK_OFFICER,), agency_id=agency).access_token
    )
    received = desk.ReceiveDossier(pb.ReceiveDossierRequest(dossier_id=dossier.dossier_id)).dossier
    assert received.version == dossier.version + 1


def test_a_citizen_reads_their_own_dossier_and_no_one_else_s(processes, procedure_id):
    account_id, token = citizen()
    mine = dossiers_stub(processes["dossiers"], token)
    dossier = mine.SubmitDossier(submit_request(procedure_id, fresh_agency(), applicant=applicant(
        account_id=account_id, full_name="Phạm Thị Thu Hà"))).dossier
    assert (
        mine.GetDossier(pb.GetDossierRequest(dossier_id=dossier.dossier_id)).dossier.applicant.full_name
        == "Phạm Thị Thu Hà"
    )
    _, other_token = citizen()
    other = dossiers_stub(processes["dossiers"], other_token)
    assert error_reason(lambda: other.GetDossier(pb.GetDossierRequest(dossier_id=dossier.dossier_id))) == "NOT_OWNER"
    assert (
        error_reason(lambda: other.WithdrawDossier(pb.WithdrawDossierRequest(dossier_id=dossier.dossier_id)))
        == "NOT_OWNER"
    )
    specialist_elsewhere = dossiers_stub(
        processes["dossiers"], auth.issue(roles=(Role.ROLE_SPECIALIST,), agency_id=fresh_agency()).access_token
    )
    assert (
        error_reason(lambda: specialist_elsewhere.GetDossier(pb.GetDossierRequest(dossier_id=dossier.dossier_id)))
        == "AGENCY_SCOPE"
    )


def test_a_citizen_reads_their_own_account_and_no_one_else_s(stack):
    admin = identity_service_stub(stack.identity.addr)
    created = [
        admin.CreateAccount(
            ipb.CreateAccountRequest(
                kind=account_pb2.ACCOUNT_KIND_CITIZEN,
                display_name=name,
                personal_id_number=unique_personal_id(),
                phone=unique_phone(),
            )
        ).account
        for name in ("Đỗ Văn Hùng", "Vũ Thị Lan")
    ]
    hung, lan = (auth.issue(roles=(Role.ROLE_APPLICANT,), account_id=a.account_id).access_token for a in created)
    own = identity_service_stub(stack.identity.addr, hung).GetAccount(
        ipb.GetAccountRequest(account_id=created[0].account_id)
    )
    assert own.account.display_name == "Đỗ Văn Hùng"
    stranger = identity_service_stub(stack.identity.addr, lan)
    assert (
        error_reason(lambda: stranger.GetAccount(ipb.GetAccountRequest(account_id=created[0].account_id)))
        == "NOT_OWNER"
    )
    assert error_reason(lambda: stranger.StartTotpEnrollment(
        ipb.StartTotpEnrollmentRequest(account_id=created[0].account_id))) == "NOT_OWNER"


def test_a_citizen_lists_their_own_notifications_and_no_one_else_s(processes):
    account_id, token = citizen()
    other_id, _ = citizen()
    inbox = notifications_stub(processes["notifications"], token)
    assert (
        list(inbox.ListNotifications(npb.ListNotificationsRequest(recipient_account_id=account_id)).notifications) == []
    )
    assert (
        error_reason(lambda: inbox.ListNotifications(npb.ListNotificationsRequest(recipient_account_id=other_id)))
        == "NOT_OWNER"
    )
