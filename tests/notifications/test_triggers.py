"""The dossier events people hear of, on the channels they can be reached on: the inbox, then
Zalo, SMS or e-mail by the account's contact points, falling back to the next channel when
one fails; every notice of a dossier listed with its delivery state (proof of notice)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import grpc
import pytest
from google.protobuf import timestamp_pb2

from motcua.dossiers.v1 import dossier_pb2, events_pb2
from motcua.identity.v1.role_pb2 import Role
from motcua.notifications.v1 import notification_pb2, notification_service_pb2 as pb
from tests.support import auth
from tests.support.clients import field_violations, notifications_stub
from tests.support.waiting import eventually

from .conftest import sending_service

State = notification_pb2.NotificationState
Channel = notification_pb2.Channel
AGENCY = "000.00.12.H56"


@pytest.fixture(scope="module")
def service(stack, notifications_db, smtp, provider):
    process = sending_service(
        stack, notifications_db, smtp, provider,
        MOTCUA_ZALO_ZNS_URL=provider.url,
        MOTCUA_ZALO_ACCESS_TOKEN=provider.access_token,
        MOTCUA_ZALO_TEMPLATES="supplement_requested=301001,dossier_returned=301003",
        MOTCUA_NOTIFY_QUIET_HOURS="off",  # whatever the hour the tests run at
    ).start()
    yield process
    assert process.terminate() == 0


def stamp(moment: datetime) -> timestamp_pb2.Timestamp:
    value = timestamp_pb2.Timestamp()
    value.FromDatetime(moment)
    return value


def ref(dossier_id: str, applicant: str, code: str) -> events_pb2.DossierRef:
    return events_pb2.DossierRef(dossier_id=dossier_id, code=code, procedure_id=str(uuid.uuid4()), procedure_version=1,
                                 agency_id=AGENCY, handling_agency_id=AGENCY, applicant_account_id=applicant,
                                 version=4)


def person(service, role=Role.ROLE_APPLICANT, agency=""):
    issued = auth.issue(roles=(role,), agency_id=agency, display_name="Trần Thị Ngọc Ánh")
    return issued.account_id, notifications_stub(service.addr, issued.access_token)


def phone() -> str:
    return "09" + str(uuid.uuid4().int)[:8]


def inbox(stub, account: str) -> list:
    request = pb.ListNotificationsRequest(recipient_account_id=account, channel=Channel.CHANNEL_IN_APP)
    return list(stub.ListNotifications(request).notifications)


def test_a_supplement_request_reaches_the_inbox_and_falls_back_from_zalo_to_sms_once(
        service, provider, dossier_events):
    applicant, own = person(service)
    number = phone()
    own.SetContactPoints(pb.SetContactPointsRequest(account_id=applicant, phone=number, zalo_phone=number,
                                                    email="ngoc.anh@example.vn"))
    provider.script("84" + number[1:], "invalid_number")  # no Zalo account behind the number

    dossier_id, code = str(uuid.uuid4()), "000.00.12.H56-260105-0042"
    event = events_pb2.DossierSupplementRequested(
        dossier=ref(dossier_id, applicant, code), request_time=stamp(datetime(2026, 1, 6, 3, tzinfo=UTC)),
        items=[dossier_pb2.SupplementItem(document="Giấy chứng sinh", problem="bản chụp mờ"),
               dossier_pb2.SupplementItem(document="Sổ hộ khẩu", problem="thiếu trang 2")])
    published = dossier_events.about(event)
    dossier_events.send(published)

    (notice,) = eventually(lambda: inbox(own, applicant), what="the supplement request in the inbox")
    assert notice.subject == f"Hồ sơ {code} cần bổ sung giấy tờ"
    assert "Giấy chứng sinh: bản chụp mờ; Sổ hộ khẩu: thiếu trang 2" in notice.body
    assert "06/01/2026" in notice.body

    (zalo,) = provider.wait_requests("84" + number[1:], 1)
    assert zalo["template_id"] == "301001"
    assert zalo["template_data"]["items"] == "Giấy chứng sinh: bản chụp mờ; Sổ hộ khẩu: thiếu trang 2"
    (sms,) = provider.wait_requests(number, 1)
    assert sms["Content"].startswith(f"Ho so {code} can bo sung 2 giay to.")
    assert len(sms["Content"]) <= 306 and sms["Content"].isascii()

    auditor = notifications_stub(service.addr, auth.issue(roles=(Role.ROLE_AUDITOR,), agency_id=AGENCY).access_token)

    def proof():
        listed = auditor.ListDossierNotifications(pb.ListDossierNotificationsRequest(dossier_id=dossier_id))
        states = {n.channel: n.state for n in listed.notifications}
        return states if states.get(Channel.CHANNEL_SMS) == State.NOTIFICATION_STATE_SENT else None

    assert eventually(proof, what="the proof of notice") == {
        Channel.CHANNEL_IN_APP: State.NOTIFICATION_STATE_DELIVERED,
        Channel.CHANNEL_ZALO: State.NOTIFICATION_STATE_BOUNCED,
        Channel.CHANNEL_SMS: State.NOTIFICATION_STATE_SENT,
    }

    # The same event delivered again sends nothing again; a later event shows it was consumed.
    dossier_events.send(published)
    later = events_pb2.DossierReturned(dossier=ref(dossier_id, applicant, code),
                                       return_time=stamp(datetime(2026, 1, 20, 2, tzinfo=UTC)))
    dossier_events.send(dossier_events.about(later))
    eventually(lambda: len(inbox(own, applicant)) == 2, what="the return notice")
    eventually(lambda: len(provider.requests_for("84" + number[1:])) == 2, what="the return notice on Zalo")
    assert len(provider.requests_for(number)) == 1
    assert [n.template_version for n in inbox(own, applicant)] == [1, 1]


def test_officers_hear_of_their_assignments_and_overdue_dossiers_by_email(service, smtp, dossier_events):
    applicant, _ = person(service)
    officer, officer_stub = person(service, Role.ROLE_SPECIALIST, AGENCY)
    officer_stub.SetContactPoints(pb.SetContactPointsRequest(account_id=officer, email="chuyen.vien@hanam.gov.vn"))
    dossier_id, code = str(uuid.uuid4()), "000.00.12.H56-260105-0077"
    dossier_events.send(dossier_events.about(events_pb2.DossierAssigned(
        dossier=ref(dossier_id, applicant, code), assign_time=stamp(datetime(2026, 1, 7, 2, tzinfo=UTC)),
        assignee=officer)))
    dossier_events.send(dossier_events.about(events_pb2.DossierOverdue(
        dossier=ref(dossier_id, applicant, code), due_time=stamp(datetime(2026, 1, 9, 10, tzinfo=UTC)))))

    notices = eventually(lambda: (n := inbox(officer_stub, officer)) and len(n) == 2 and n, what="officer notices")
    assert [n.subject for n in notices] == [f"Hồ sơ {code} quá hạn", f"Hồ sơ {code} được giao cho đồng chí"]
    mail = smtp.wait_for("chuyen.vien@hanam.gov.vn")
    assert mail["Subject"] in {f"Hồ sơ {code} quá hạn", f"Hồ sơ {code} được giao cho đồng chí"}
    eventually(lambda: smtp.count_to("chuyen.vien@hanam.gov.vn") == 2, what="both e-mails")


def test_contact_points_are_the_account_s_own_and_checked(service):
    applicant, own = person(service)
    recorded = own.SetContactPoints(pb.SetContactPointsRequest(account_id=applicant, phone="01683 456 789"))
    assert (recorded.phone, recorded.email) == ("+84383456789", "")
    with pytest.raises(grpc.RpcError) as failure:
        own.SetContactPoints(pb.SetContactPointsRequest(account_id=applicant, phone="0912", email="ngoc@"))
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(field_violations(failure.value)) >= {"email"} or set(field_violations(failure.value)) >= {"phone"}
    other, _ = person(service)
    with pytest.raises(grpc.RpcError) as refused:
        own.SetContactPoints(pb.SetContactPointsRequest(account_id=other, email="ke.gian@example.vn"))
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_an_opt_out_silences_an_officer_s_notices_but_only_redirects_an_applicant_s_statutory_ones(
        service, smtp, dossier_events):
    applicant, own = person(service)
    recorded = own.SetContactPoints(pb.SetContactPointsRequest(
        account_id=applicant, email="chi.co.email@example.vn", opted_out_channels=[Channel.CHANNEL_EMAIL]))
    assert list(recorded.opted_out_channels) == [Channel.CHANNEL_EMAIL]
    officer, officer_stub = person(service, Role.ROLE_SPECIALIST, AGENCY)
    officer_stub.SetContactPoints(pb.SetContactPointsRequest(
        account_id=officer, email="khong.nhan.email@hanam.gov.vn", opted_out_channels=[Channel.CHANNEL_EMAIL]))
    dossier_id, code = str(uuid.uuid4()), "000.00.12.H56-260105-0123"
    dossier_events.send(dossier_events.about(events_pb2.DossierAssigned(
        dossier=ref(dossier_id, applicant, code), assign_time=stamp(datetime(2026, 1, 7, 2, tzinfo=UTC)),
        assignee=officer)))
    dossier_events.send(dossier_events.about(events_pb2.DossierRefused(
        dossier=ref(dossier_id, applicant, code), refuse_time=stamp(datetime(2026, 1, 8, 2, tzinfo=UTC)),
        reason="Hồ sơ không thuộc thẩm quyền giải quyết của cơ quan")))

    # The refusal is statutory and e-mail is the only way to reach the applicant: it goes there.
    mail = smtp.wait_for("chi.co.email@example.vn")
    assert "Lý do: Hồ sơ không thuộc thẩm quyền giải quyết của cơ quan" in mail.get_body(("plain",)).get_content()
    # The assignment reached the officer's inbox, and no e-mail: it is not statutory.
    eventually(lambda: inbox(officer_stub, officer), what="the assignment in the officer's inbox")
    auditor = notifications_stub(service.addr, auth.issue(roles=(Role.ROLE_AUDITOR,), agency_id=AGENCY).access_token)
    listed = auditor.ListDossierNotifications(pb.ListDossierNotificationsRequest(dossier_id=dossier_id))
    assert sorted((n.template_version > 0, n.channel) for n in listed.notifications
                  if n.recipient_account_id == officer) == [(True, Channel.CHANNEL_IN_APP)]
    assert smtp.count_to("khong.nhan.email@hanam.gov.vn") == 0
