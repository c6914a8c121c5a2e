"""Operators (administrators, within their agencies' subtrees) find the dead letters and a
person's messages, resend one (once per request id) and read each provider's recent health:
real notifications process, Kafka, the SMS provider's simulator."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import grpc
import pytest
from google.protobuf import timestamp_pb2

from motcua.dossiers.v1 import events_pb2
from motcua.identity.v1.role_pb2 import Role
from motcua.notifications.v1 import notification_pb2, notification_service_pb2 as pb
from tests.support import auth
from tests.support.clients import field_violations, notifications_stub
from tests.support.waiting import eventually

State = notification_pb2.NotificationState
Channel = notification_pb2.Channel
AGENCY = "000.00.12.H56"
OTHER_AGENCY = "000.00.10.H56"


@pytest.fixture(scope="module")
def service(stack, notifications_db, provider):
    process = stack.service(
        "notifications",
        POSTGRES_DBNAME=notifications_db,
        MOTCUA_ESMS_URL=provider.url,
        MOTCUA_ESMS_BRANDNAME="MOTCUA.HNA",
        MOTCUA_NOTIFY_MAX_ATTEMPTS="2",
        MOTCUA_NOTIFY_RETRY_BASE="0.05",
        MOTCUA_NOTIFY_POLL_INTERVAL="0.05",
        MOTCUA_NOTIFY_QUIET_HOURS="off",
    ).start()
    yield process
    assert process.terminate() == 0


def stub(service, role, agency: str = "", account: str = ""):
    return notifications_stub(service.addr, auth.issue(roles=(role,), agency_id=agency, account_id=account,
                                                       display_name="Vũ Thị Mai").access_token)


def test_operators_find_dead_letters_resend_them_once_and_read_provider_health(service, provider, dossier_events):
    applicant = str(uuid.uuid4())
    phone = "09" + str(uuid.uuid4().int)[:8]
    stub(service, Role.ROLE_APPLICANT, account=applicant).SetContactPoints(
        pb.SetContactPointsRequest(account_id=applicant, phone=phone))
    provider.script(phone, "5xx", "5xx")  # both attempts: a dead letter

    dossier_id, code = str(uuid.uuid4()), "000.00.12.H56-260105-0201"
    moment = timestamp_pb2.Timestamp()
    moment.FromDatetime(datetime(2026, 1, 20, 2, tzinfo=UTC))
    dossier_events.send(dossier_events.about(events_pb2.DossierReturned(
        dossier=events_pb2.DossierRef(dossier_id=dossier_id, code=code, procedure_id=str(uuid.uuid4()),
                                      procedure_version=1, agency_id=AGENCY, handling_agency_id=AGENCY,
                                      applicant_account_id=applicant, version=9),
        return_time=moment)))

    operator = stub(service, Role.ROLE_ADMINISTRATOR, AGENCY)

    def dead_letters():
        found = operator.SearchNotifications(pb.SearchNotificationsRequest(
            state=State.NOTIFICATION_STATE_FAILED)).notifications
        return [n for n in found if n.dossier_id == dossier_id]

    (dead,) = eventually(dead_letters, what="the dead letter")
    assert dead.channel == Channel.CHANNEL_SMS and "HTTP 503" in dead.last_error
    mine = operator.SearchNotifications(pb.SearchNotificationsRequest(recipient_account_id=applicant)).notifications
    assert {n.channel for n in mine} == {Channel.CHANNEL_SMS, Channel.CHANNEL_IN_APP}

    # Another agency's administrator sees none of it and resends nothing.
    stranger = stub(service, Role.ROLE_ADMINISTRATOR, OTHER_AGENCY)
    assert not stranger.SearchNotifications(pb.SearchNotificationsRequest(recipient_account_id=applicant)).notifications
    request_id = str(uuid.uuid4())
    with pytest.raises(grpc.RpcError) as refused:
        stranger.ResendNotification(pb.ResendNotificationRequest(notification_id=dead.notification_id,
                                                                 request_id=request_id))
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    in_app = next(n for n in mine if n.channel == Channel.CHANNEL_IN_APP)
    with pytest.raises(grpc.RpcError) as pointless:
        operator.ResendNotification(pb.ResendNotificationRequest(notification_id=in_app.notification_id,
                                                                 request_id=request_id))
    assert "notification_id" in field_violations(pointless.value)

    # The provider is back: the resend goes out, once however often it is asked.
    resent = operator.ResendNotification(pb.ResendNotificationRequest(notification_id=dead.notification_id,
                                                                      request_id=request_id)).notification
    assert resent.notification_id != dead.notification_id and resent.body == dead.body
    again = operator.ResendNotification(pb.ResendNotificationRequest(notification_id=dead.notification_id,
                                                                     request_id=request_id)).notification
    assert again.notification_id == resent.notification_id
    auditor = stub(service, Role.ROLE_AUDITOR, AGENCY)
    eventually(lambda: auditor.GetNotification(pb.GetNotificationRequest(
        notification_id=resent.notification_id)).notification.state == State.NOTIFICATION_STATE_SENT,
        what="the resend sent")
    assert len(provider.requests_for(phone)) == 3  # two failed attempts, one resend
    assert auditor.GetNotification(pb.GetNotificationRequest(
        notification_id=dead.notification_id)).notification.state == State.NOTIFICATION_STATE_FAILED

    health = operator.GetProviderHealth(pb.GetProviderHealthRequest(window_minutes=60)).providers
    (sms,) = [p for p in health if p.channel == Channel.CHANNEL_SMS]
    assert sms.failed >= 1 and sms.sent >= 1 and sms.total >= 2
    assert sms.last_error  # the latest error of the channel (this module's or another's)
    with pytest.raises(grpc.RpcError) as applicant_asks:
        stub(service, Role.ROLE_APPLICANT, account=applicant).GetProviderHealth(pb.GetProviderHealthRequest())
    assert applicant_asks.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_an_operator_pages_through_a_search_seeing_only_their_agencies_notices(service, dossier_events):
    applicant = str(uuid.uuid4())
    moment = timestamp_pb2.Timestamp()
    moment.FromDatetime(datetime(2026, 1, 21, 2, tzinfo=UTC))
    ours, theirs = [], []
    for i, agency in enumerate((AGENCY, OTHER_AGENCY, AGENCY, OTHER_AGENCY, AGENCY)):
        dossier_id = str(uuid.uuid4())
        (ours if agency == AGENCY else theirs).append(dossier_id)
        dossier_events.send(dossier_events.about(events_pb2.DossierReturned(
            dossier=events_pb2.DossierRef(dossier_id=dossier_id, code=f"{agency}-260121-03{i:02d}",
                                          procedure_id=str(uuid.uuid4()), procedure_version=1, agency_id=agency,
                                          handling_agency_id=agency, applicant_account_id=applicant, version=9),
            return_time=moment)))
    auditor = stub(service, Role.ROLE_AUDITOR, AGENCY)
    eventually(lambda: len(auditor.ListNotifications(pb.ListNotificationsRequest(
        recipient_account_id=applicant)).notifications) == 5, what="the five notices")

    operator = stub(service, Role.ROLE_ADMINISTRATOR, AGENCY)
    seen, token, pages = [], "", 0
    while True:
        page = operator.SearchNotifications(pb.SearchNotificationsRequest(
            recipient_account_id=applicant, page_size=2, page_token=token))
        assert len(page.notifications) <= 2
        seen += [n.dossier_id for n in page.notifications]
        pages += 1
        token = page.next_page_token
        if not token:
            break
    assert sorted(seen) == sorted(ours) and pages == 2  # newest first, 2 + 1, none of the other agency's
    first = operator.SearchNotifications(pb.SearchNotificationsRequest(recipient_account_id=applicant, page_size=2))
    with pytest.raises(grpc.RpcError) as other_filters:
        operator.SearchNotifications(pb.SearchNotificationsRequest(
            state=State.NOTIFICATION_STATE_FAILED, page_token=first.next_page_token))
    assert other_filters.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "page_token" in field_violations(other_filters.value)
    stranger = stub(service, Role.ROLE_ADMINISTRATOR, OTHER_AGENCY)
    theirs_seen = stranger.SearchNotifications(pb.SearchNotificationsRequest(recipient_account_id=applicant))
    assert sorted(n.dossier_id for n in theirs_seen.notifications) == sorted(theirs)
    assert theirs_seen.next_page_token == ""
