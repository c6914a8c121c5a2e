"""Fallback when a provider stays silent: an SMS or Zalo message without a delivery receipt in
time is followed by the same notice on the next channel; the dossier's notices show both.
Quiet hours hold back the notices that are not statutory."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from motcua.dossiers.v1 import events_pb2
from motcua.identity.v1.role_pb2 import Role
from motcua.notifications.v1 import notification_pb2, notification_service_pb2 as pb
from tests.support import auth
from tests.support.clients import notifications_stub
from tests.support.waiting import eventually

from .test_triggers import AGENCY, phone, ref, stamp

State = notification_pb2.NotificationState
Channel = notification_pb2.Channel


@pytest.fixture(scope="module")
def service(stack, notifications_db, smtp, provider):
    process = stack.service(
        "notifications",
        POSTGRES_DBNAME=notifications_db,
        MOTCUA_SMTP_HOST="127.0.0.1",
        MOTCUA_SMTP_PORT=str(smtp.port),
        MOTCUA_SMTP_STARTTLS="false",
        MOTCUA_ZALO_ZNS_URL=provider.url,
        MOTCUA_ZALO_ACCESS_TOKEN=provider.access_token,
        MOTCUA_ZALO_TEMPLATES="result_ready=301004",
        MOTCUA_NOTIFY_CONFIRM_WITHIN="1",
        MOTCUA_NOTIFY_POLL_INTERVAL="0.05",
        MOTCUA_NOTIFY_QUIET_HOURS="00:00-23:59:59",  # quiet all day: only statutory notices go out
    ).start()
    yield process
    assert process.terminate() == 0


def test_a_zalo_message_without_a_receipt_in_time_is_followed_by_an_email(service, provider, smtp, dossier_events):
    issued = auth.issue(roles=(Role.ROLE_APPLICANT,), agency_id="", display_name="Vũ Đức Thắng")
    applicant, own = issued.account_id, notifications_stub(service.addr, issued.access_token)
    number = phone()
    own.SetContactPoints(pb.SetContactPointsRequest(account_id=applicant, zalo_phone=number,
                                                    email="duc.thang@example.vn"))
    dossier_id, code = str(uuid.uuid4()), "000.00.12.H56-260105-0099"
    dossier_events.send(dossier_events.about(events_pb2.DossierResultReady(
        dossier=ref(dossier_id, applicant, code), ready_time=stamp(datetime(2026, 1, 15, 2, tzinfo=UTC)))))

    provider.wait_requests("84" + number[1:], 1)  # accepted by Zalo, and then nothing
    mail = smtp.wait_for("duc.thang@example.vn")
    assert mail["Subject"] == f"Hồ sơ {code} đã có kết quả"
    assert "Nhận kết quả tại Bộ phận Một cửa." in mail.get_body(("plain",)).get_content()

    auditor = notifications_stub(service.addr, auth.issue(roles=(Role.ROLE_AUDITOR,), agency_id=AGENCY).access_token)

    def proof():
        listed = auditor.ListDossierNotifications(pb.ListDossierNotificationsRequest(dossier_id=dossier_id))
        by_channel = {n.channel: n for n in listed.notifications}
        email = by_channel.get(Channel.CHANNEL_EMAIL)
        return by_channel if email is not None and email.state == State.NOTIFICATION_STATE_SENT else None

    notices = eventually(proof, what="the e-mail recorded as sent")
    zalo = notices[Channel.CHANNEL_ZALO]
    assert zalo.state == State.NOTIFICATION_STATE_SENT and zalo.last_error == "not confirmed within 1 s"
    assert notices[Channel.CHANNEL_IN_APP].state == State.NOTIFICATION_STATE_DELIVERED
    assert smtp.count_to("duc.thang@example.vn") == 1


def test_in_quiet_hours_an_officer_s_email_waits_while_a_statutory_notice_goes_out(service, smtp, dossier_events):
    applicant = auth.issue(roles=(Role.ROLE_APPLICANT,), agency_id="", display_name="Hà Văn Sơn")
    notifications_stub(service.addr, applicant.access_token).SetContactPoints(pb.SetContactPointsRequest(
        account_id=applicant.account_id, email="van.son@example.vn"))
    officer = auth.issue(roles=(Role.ROLE_SPECIALIST,), agency_id=AGENCY, display_name="Lò Thị Mây")
    officer_stub = notifications_stub(service.addr, officer.access_token)
    officer_stub.SetContactPoints(pb.SetContactPointsRequest(account_id=officer.account_id,
                                                             email="lo.thi.may@hanam.gov.vn"))
    dossier_id, code = str(uuid.uuid4()), "000.00.12.H56-260105-0321"
    dossier_events.send(dossier_events.about(events_pb2.DossierAssigned(
        dossier=ref(dossier_id, applicant.account_id, code), assign_time=stamp(datetime(2026, 1, 7, 2, tzinfo=UTC)),
        assignee=officer.account_id)))
    dossier_events.send(dossier_events.about(events_pb2.DossierResultReady(
        dossier=ref(dossier_id, applicant.account_id, code), ready_time=stamp(datetime(2026, 1, 8, 2, tzinfo=UTC)))))

    smtp.wait_for("van.son@example.vn")  # statutory: at once, though queued after the officer's
    auditor = notifications_stub(service.addr, auth.issue(roles=(Role.ROLE_AUDITOR,), agency_id=AGENCY).access_token)
    listed = auditor.ListDossierNotifications(pb.ListDossierNotificationsRequest(dossier_id=dossier_id))
    (held,) = [n for n in listed.notifications
               if n.recipient_account_id == officer.account_id and n.channel == Channel.CHANNEL_EMAIL]
    assert (held.state, held.attempt_count) == (State.NOTIFICATION_STATE_QUEUED, 0)
    assert smtp.count_to("lo.thi.may@hanam.gov.vn") == 0
    request = pb.ListNotificationsRequest(recipient_account_id=officer.account_id, channel=Channel.CHANNEL_IN_APP)
    assert len(officer_stub.ListNotifications(request).notifications) == 1  # the inbox is never quiet
