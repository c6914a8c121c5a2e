"""DossierReceived on Kafka → a Vietnamese in-app notification: listed, streamed, once.

Real processes of the notifications service (two replicas on one database), real
PostgreSQL and Kafka; the dossiers service's events are published by hand, with
rising positions, as its relay would.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import grpc
import pytest

from motcua.identity.v1.role_pb2 import Role
from motcua.notifications.v1 import notification_pb2, notification_service_pb2 as pb
from tests.support import auth
from tests.support.clients import field_violations, notifications_stub
from tests.support.waiting import eventually

from .conftest import InboxReader

VN = timezone(timedelta(hours=7))
RECEIVED_BODY = "Hồ sơ {code} đã được tiếp nhận. Ngày hẹn trả kết quả: {date}."


@pytest.fixture(scope="module")
def replicas(stack, notifications_db):
    # No polling within a test's time: what the streams get, the LISTEN/NOTIFY wake-up brought.
    # No template cache: a revision made through one replica renders the next event at once,
    # whichever replica consumes it (cached, within MOTCUA_NOTIFY_TEMPLATE_CACHE seconds).
    env = {"POSTGRES_DBNAME": notifications_db, "MOTCUA_INBOX_POLL_INTERVAL": "3600",
           "MOTCUA_NOTIFY_TEMPLATE_CACHE": "0"}
    first = stack.service("notifications", **env).start()
    second = stack.service("notifications", **env).start()
    yield first, second
    assert first.terminate() == 0
    assert second.terminate() == 0


@pytest.fixture(scope="module")
def stub(replicas):
    return notifications_stub(replicas[0].addr)


@pytest.fixture(scope="module")
def other_stub(replicas):
    return notifications_stub(replicas[1].addr)


def account() -> str:
    return str(uuid.uuid4())


def listed(stub, recipient: str, **request) -> list[notification_pb2.Notification]:
    return list(
        stub.ListNotifications(pb.ListNotificationsRequest(recipient_account_id=recipient, **request)).notifications
    )


def received_template(stub):
    # Its id follows from (key, channel); find it through a notification or create nothing.
    return stub.GetTemplate(pb.GetTemplateRequest(template_id=_dossier_received_template_id())).template


def _dossier_received_template_id() -> str:
    from motcua.notifications.domain import IN_APP, template_id

    return str(template_id("dossier_received", IN_APP))


def test_a_received_dossier_becomes_a_vietnamese_in_app_notification_for_the_applicant(
    stub, other_stub, dossier_events
):
    applicant = account()
    # Half past midnight in Hà Nội on the 12th is still the 11th in UTC: the text must say
    # 12/01/2026.
    appointed = datetime(2026, 1, 12, 0, 30, tzinfo=VN)
    message = dossier_events.received(applicant, appointed, code="000.00.12.H56-260105-0007")
    dossier_events.send(message)

    (notification,) = eventually(lambda: listed(stub, applicant), what="notification listed")
    template = received_template(stub)
    assert notification.body == RECEIVED_BODY.format(code="000.00.12.H56-260105-0007", date="12/01/2026")
    assert notification.subject == "Hồ sơ 000.00.12.H56-260105-0007 đã được tiếp nhận"
    assert notification.channel == notification_pb2.CHANNEL_IN_APP
    assert notification.state == notification_pb2.NOTIFICATION_STATE_DELIVERED
    assert notification.recipient_account_id == applicant
    assert notification.dossier_id == message.event.dossier_id
    assert (notification.template_id, notification.template_version) == (template.template_id, template.version)
    assert template.key == "dossier_received" and template.version >= 1
    assert not notification.HasField("read_time")
    # Every replica reads the same read model; Get reads the notification itself.
    assert listed(other_stub, applicant) == [notification]
    got = other_stub.GetNotification(
        pb.GetNotificationRequest(notification_id=notification.notification_id)
    ).notification
    assert got == notification


def test_a_person_reads_only_their_own_notifications(replicas, dossier_events):
    applicant, stranger = account(), account()
    dossier_events.send(dossier_events.received(applicant, datetime(2026, 1, 12, 9, tzinfo=VN)))
    own = notifications_stub(replicas[0].addr, auth.issue(roles=(Role.ROLE_APPLICANT,), agency_id="",
                                                          account_id=applicant).access_token)
    (notification,) = eventually(lambda: listed(own, applicant), what="notification listed")
    assert own.MarkNotificationRead(
        pb.MarkNotificationReadRequest(notification_id=notification.notification_id)).notification.HasField("read_time")

    stranger_token = auth.issue(roles=(Role.ROLE_APPLICANT,), agency_id="", account_id=stranger).access_token
    # A citizen belongs to no agency: even the province's administrator is a stranger to her inbox.
    administrator_token = auth.issue(roles=(Role.ROLE_ADMINISTRATOR,), agency_id="000.00.00.H56").access_token
    for who, token in (("a stranger", stranger_token), ("an administrator", administrator_token)):
        snoop = notifications_stub(replicas[0].addr, token)
        attempts = {
            "list": lambda snoop=snoop: listed(snoop, applicant),
            "get": lambda snoop=snoop: snoop.GetNotification(
                pb.GetNotificationRequest(notification_id=notification.notification_id)
            ),
            "mark read": lambda snoop=snoop: snoop.MarkNotificationRead(
                pb.MarkNotificationReadRequest(notification_id=notification.notification_id)
            ),
            "stream": lambda snoop=snoop: next(snoop.StreamInbox(pb.StreamInboxRequest(account_id=applicant))),
        }
        for what, attempt in attempts.items():
            with pytest.raises(grpc.RpcError) as failure:
                attempt()
            assert failure.value.code() == grpc.StatusCode.PERMISSION_DENIED, (who, what)
    assert listed(notifications_stub(replicas[0].addr, stranger_token), stranger) == []  # their own is theirs

    # Auditors read every inbox, and change nothing in it.
    auditor = notifications_stub(replicas[0].addr, auth.issue(roles=(Role.ROLE_AUDITOR,),
                                                              agency_id="000.00.00.H56").access_token)
    assert [n.notification_id for n in listed(auditor, applicant)] == [notification.notification_id]
    with pytest.raises(grpc.RpcError) as failure:
        auditor.MarkNotificationRead(pb.MarkNotificationReadRequest(notification_id=notification.notification_id))
    assert failure.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_an_event_delivered_twice_or_republished_gives_one_notification(stub, dossier_events):
    applicant = account()
    appointed = datetime(2026, 2, 3, 16, 0, tzinfo=VN)
    first = dossier_events.received(applicant, appointed, code="000.00.12.H56-260105-0001")
    dossier_id = first.event.dossier_id
    second = dossier_events.received(applicant, appointed, code="000.00.12.H56-260105-0002", dossier_id=dossier_id)
    last = dossier_events.received(applicant, appointed, code="000.00.12.H56-260105-0003", dossier_id=dossier_id)
    # Kafka redelivers the first; then a relay restarted before saving its position
    # republishes the first two; all on one partition (same dossier, same key).
    dossier_events.send(first, first, second, first, second, last)

    def all_three():
        found = listed(stub, applicant)
        return found if any("-0003 " in n.body for n in found) else None

    found = eventually(all_three, what="the last event's notification")
    codes = sorted(n.body.split()[2] for n in found)
    assert codes == ["000.00.12.H56-260105-0001", "000.00.12.H56-260105-0002", "000.00.12.H56-260105-0003"]


def test_a_stream_opened_before_the_event_receives_it_on_every_replica(stub, other_stub, dossier_events):
    applicant, bystander = account(), account()
    streams = [
        InboxReader(stub.StreamInbox(pb.StreamInboxRequest(account_id=applicant), timeout=300)).live(),
        InboxReader(other_stub.StreamInbox(pb.StreamInboxRequest(account_id=applicant), timeout=300)).live(),
    ]
    unrelated = InboxReader(stub.StreamInbox(pb.StreamInboxRequest(account_id=bystander), timeout=300)).live()
    try:
        dossier_events.send(
            dossier_events.received(applicant, datetime(2026, 3, 2, 17, 0, tzinfo=VN), code="000.00.12.H56-260302-0042")
        )
        # Only one replica applied the event; both push it (LISTEN/NOTIFY on the shared database).
        pushed = [stream.next() for stream in streams]
        assert pushed[0] == pushed[1]
        assert pushed[0].body == RECEIVED_BODY.format(code="000.00.12.H56-260302-0042", date="02/03/2026")
        assert pushed[0] == listed(stub, applicant)[0]

        # A second notification follows on the same streams, not the bystander's.
        dossier_events.send(
            dossier_events.received(applicant, datetime(2026, 3, 3, 17, 0, tzinfo=VN), code="000.00.12.H56-260302-0043")
        )
        assert [stream.next().body.split()[2] for stream in streams] == ["000.00.12.H56-260302-0043"] * 2
        assert unrelated.pending() == []
    finally:
        for stream in [*streams, unrelated]:
            stream.cancel()


def test_a_stream_starts_with_the_unread_notifications_oldest_first(stub, replicas, dossier_events):
    applicant = account()
    codes = [f"000.00.12.H56-260401-{n:04d}" for n in (1, 2, 3)]
    same_partition = str(uuid.uuid4())  # the key: one partition keeps them in order
    dossier_events.send(
        *(
            dossier_events.received(
                applicant, datetime(2026, 4, 6, 17, 0, tzinfo=VN), code=c, dossier_id=same_partition
            )
            for c in codes
        )
    )
    found = eventually(
        lambda: (lambda f: f if len(f) == 3 else None)(listed(stub, applicant)), what="three notifications"
    )
    newest_first = [n.body.split()[2] for n in found]
    assert newest_first == codes[::-1]

    # Only she marks her notifications read, on either replica.
    token = auth.issue(roles=(Role.ROLE_APPLICANT,), agency_id="", account_id=applicant).access_token
    hers = [notifications_stub(replica.addr, token) for replica in replicas]
    read = (
        hers[1]
        .MarkNotificationRead(pb.MarkNotificationReadRequest(notification_id=found[1].notification_id))
        .notification
    )
    assert read.HasField("read_time") and read.version == found[1].version + 1
    again = (
        hers[0]
        .MarkNotificationRead(pb.MarkNotificationReadRequest(notification_id=found[1].notification_id))
        .notification
    )
    assert again == read  # reading twice changes nothing
    assert listed(stub, applicant)[1] == read  # the read model saw it in the same transaction

    stream = InboxReader(stub.StreamInbox(pb.StreamInboxRequest(account_id=applicant), timeout=300)).live()
    try:
        assert [stream.next().body.split()[2] for _ in range(2)] == [codes[0], codes[2]]
    finally:
        stream.cancel()


def test_pages_go_newest_first_and_end_with_an_empty_token(stub):
    recipient = account()
    template = stub.CreateTemplate(
        pb.CreateTemplateRequest(
            key=f"thong_bao_{uuid.uuid4().hex[:8]}", channel=notification_pb2.CHANNEL_IN_APP, body="Thông báo số {{so}}"
        )
    ).template
    for n in range(1, 8):
        stub.SendNotification(
            pb.SendNotificationRequest(
                recipient_account_id=recipient, template_id=template.template_id, parameters={"so": str(n)}
            )
        )

    pages, token = [], ""
    while True:
        response = stub.ListNotifications(
            pb.ListNotificationsRequest(recipient_account_id=recipient, page_size=3, page_token=token)
        )
        pages.append([n.body.removeprefix("Thông báo số ") for n in response.notifications])
        token = response.next_page_token
        if not token:
            break
    assert pages == [["7", "6", "5"], ["4", "3", "2"], ["1"]]
    assert [n.body for n in listed(stub, recipient)] == [
        f"Thông báo số {n}" for n in range(7, 0, -1)
    ]  # default page size
    assert listed(stub, recipient, channel=notification_pb2.CHANNEL_SMS) == []

    first = stub.ListNotifications(pb.ListNotificationsRequest(recipient_account_id=recipient, page_size=3))
    for request in [
        pb.ListNotificationsRequest(recipient_account_id=account(), page_size=3, page_token=first.next_page_token),
        pb.ListNotificationsRequest(recipient_account_id=recipient, page_token="không phải token"),
    ]:
        with pytest.raises(grpc.RpcError) as failure:
            stub.ListNotifications(request)
        assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert set(field_violations(failure.value)) == {"page_token"}


def test_a_template_with_a_placeholder_without_value_is_a_clear_error(stub):
    template = stub.CreateTemplate(
        pb.CreateTemplateRequest(
            key=f"giay_moi_{uuid.uuid4().hex[:8]}",
            channel=notification_pb2.CHANNEL_IN_APP,
            subject="Giấy mời",
            body="Kính gửi {{ho_ten}}: mời đến nhận kết quả hồ sơ {{dossier_code}} ngày {{ngay_hen}}.",
        )
    ).template
    with pytest.raises(grpc.RpcError) as failure:
        stub.SendNotification(
            pb.SendNotificationRequest(
                recipient_account_id=account(), template_id=template.template_id, parameters={"dossier_code": "X"}
            )
        )
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    description = field_violations(failure.value)["parameters"]
    assert "{{ho_ten}}, {{ngay_hen}}" in description and template.key in description and "version 1" in description

    # The occasions the service fills itself accept only the placeholders it fills.
    received = received_template(stub)
    with pytest.raises(grpc.RpcError) as revision:
        stub.ReviseTemplate(
            pb.ReviseTemplateRequest(
                template_id=received.template_id, subject=received.subject, body="Kính gửi {{ho_ten}}: " + received.body
            )
        )
    assert revision.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (
        "{{ho_ten}} unknown: dossier_received templates can use {{dossier_code}}"
        in field_violations(revision.value)["body"]
    )
    with pytest.raises(grpc.RpcError) as malformed:
        stub.CreateTemplate(
            pb.CreateTemplateRequest(key="mau_loi", channel=notification_pb2.CHANNEL_SMS, body="Hồ sơ {{Ma Ho So}}")
        )
    assert "is not a placeholder" in field_violations(malformed.value)["body"]


def test_a_revised_template_renders_later_notifications_with_its_new_version(stub, dossier_events):
    before = received_template(stub)
    revised = stub.ReviseTemplate(
        pb.ReviseTemplateRequest(
            template_id=before.template_id,
            subject=before.subject,
            body="Hồ sơ {{dossier_code}} đã được tiếp nhận ngày {{received_date}}; hẹn trả kết quả "
                 "{{appointed_time}} ngày {{appointed_date}}.",
            expected_version=before.version,
        )
    ).template
    assert revised.version == before.version + 1
    try:
        applicant = account()
        dossier_events.send(
            dossier_events.received(
                applicant,
                datetime(2026, 5, 4, 16, 30, tzinfo=VN),
                code="000.00.12.H56-260427-0005",
                receive_time=datetime(2026, 4, 27, 9, 15, tzinfo=VN),
            )
        )
        (notification,) = eventually(lambda: listed(stub, applicant), what="notification listed")
        assert (
            notification.body
            == "Hồ sơ 000.00.12.H56-260427-0005 đã được tiếp nhận ngày 27/04/2026; "
            "hẹn trả kết quả 16:30 ngày 04/05/2026."
        )
        assert notification.template_version == revised.version
        with pytest.raises(grpc.RpcError) as stale:
            stub.ReviseTemplate(
                pb.ReviseTemplateRequest(
                    template_id=before.template_id, body=before.body, expected_version=before.version
                )
            )
        assert stale.value.code() == grpc.StatusCode.ABORTED
    finally:
        restored = stub.ReviseTemplate(
            pb.ReviseTemplateRequest(template_id=before.template_id, subject=before.subject, body=before.body)
        ).template
        assert restored.version == revised.version + 1


def test_send_notification_is_idempotent_by_request_id(stub):
    template = stub.CreateTemplate(
        pb.CreateTemplateRequest(
            key=f"nhac_viec_{uuid.uuid4().hex[:8]}", channel=notification_pb2.CHANNEL_IN_APP, body="Việc {{viec}}"
        )
    ).template
    recipient, request_id = account(), str(uuid.uuid4())
    request = pb.SendNotificationRequest(
        request_id=request_id,
        recipient_account_id=recipient,
        template_id=template.template_id,
        parameters={"viec": "thẩm định"},
    )
    first = stub.SendNotification(request).notification
    assert stub.SendNotification(request).notification == first
    assert listed(stub, recipient) == [first]
    with pytest.raises(grpc.RpcError) as unknown:
        stub.GetNotification(pb.GetNotificationRequest(notification_id=str(uuid.uuid4())))
    assert unknown.value.code() == grpc.StatusCode.NOT_FOUND


def test_officers_notify_only_the_applicant_of_a_dossier_of_their_agency_and_never_as_the_service(
    replicas, stub, dossier_events
):
    agency, applicant = "000.00.21.H56", account()
    received = dossier_events.received(
        applicant, datetime(2026, 3, 9, 16, 0, tzinfo=VN), code="000.00.21.H56-260302-0004", agency_id=agency
    )
    dossier_events.send(received)
    eventually(lambda: listed(stub, applicant), what="the dossier known to the service")  # saved with its copy
    dossier_id = received.event.dossier_id
    template = stub.CreateTemplate(pb.CreateTemplateRequest(
        key=f"moi_nhan_ket_qua_{uuid.uuid4().hex[:8]}", channel=notification_pb2.CHANNEL_IN_APP,
        subject="Hồ sơ {{dossier_code}}", body="Mời ông/bà đến nhận kết quả hồ sơ {{dossier_code}} vào ngày {{ngay}}.",
    )).template

    def officer(agency_id: str, role=Role.ROLE_DESK_OFFICER):
        caller = auth.issue(roles=(role,), agency_id=agency_id, display_name="Lê Văn Tâm")
        return caller.account_id, notifications_stub(replicas[0].addr, caller.access_token)

    def send(caller, **overrides):
        fields = {
            "recipient_account_id": applicant,
            "template_id": template.template_id,
            "dossier_id": dossier_id,
            "parameters": {"ngay": "12/03/2026"},
        }
        fields.update(overrides)
        return caller.SendNotification(pb.SendNotificationRequest(**fields)).notification

    def refused(code, caller, **overrides):
        with pytest.raises(grpc.RpcError) as failure:
            send(caller, **overrides)
        assert failure.value.code() == code, failure.value.details()
        return failure.value

    desk_id, desk = officer(agency)
    request_id = str(uuid.uuid4())
    sent = send(desk, request_id=request_id)
    assert sent.body == "Mời ông/bà đến nhận kết quả hồ sơ 000.00.21.H56-260302-0004 vào ngày 12/03/2026."
    assert sent.sender == desk_id and sent.dossier_id == dossier_id
    assert listed(stub, applicant)[0] == sent

    # The service's own occasion: only the event says a dossier was received.
    received_id = received_template(stub).template_id
    refused(grpc.StatusCode.PERMISSION_DENIED, desk, template_id=received_id,
            parameters={"appointed_date": "01/01/2027", "dossier_code": "000.00.21.H56-260302-0004"})
    # Not about a dossier, about another agency's, or to anybody but its applicant.
    refused(grpc.StatusCode.PERMISSION_DENIED, desk, dossier_id="")
    refused(grpc.StatusCode.PERMISSION_DENIED, officer("000.00.22.H56")[1])
    refused(grpc.StatusCode.PERMISSION_DENIED, desk, recipient_account_id=account())
    refused(grpc.StatusCode.PERMISSION_DENIED, desk, recipient_account_id="", address="0912345678")
    refused(grpc.StatusCode.NOT_FOUND, desk, dossier_id=str(uuid.uuid4()))
    # Parameters: the dossier's code is the dossier's; only the template's placeholders; one short
    # line each.
    assert "parameters[dossier_code]" in field_violations(
        refused(
            grpc.StatusCode.INVALID_ARGUMENT, desk, parameters={"ngay": "12/03/2026", "dossier_code": "CK 5.000.000đ"}
        )
    )
    assert "parameters[so_tai_khoan]" in field_violations(
        refused(grpc.StatusCode.INVALID_ARGUMENT, desk, parameters={"ngay": "12/03/2026", "so_tai_khoan": "0123456789"})
    )
    assert "parameters[ngay]" in field_violations(
        refused(grpc.StatusCode.INVALID_ARGUMENT, desk, parameters={"ngay": "12/03/2026\nChuyển khoản phí tại đây"}))
    assert "parameters[ngay]" in field_violations(
        refused(grpc.StatusCode.INVALID_ARGUMENT, desk, parameters={"ngay": "x" * 501})
    )
    # Another officer re-using the request id gets nothing of the first sender's.
    refused(grpc.StatusCode.PERMISSION_DENIED, officer(agency, Role.ROLE_SPECIALIST)[1], request_id=request_id)
    assert send(desk, request_id=request_id) == sent
    # Applicants send nothing.
    citizen = auth.issue(roles=(Role.ROLE_APPLICANT,), agency_id="", account_id=applicant)
    refused(grpc.StatusCode.PERMISSION_DENIED, notifications_stub(replicas[0].addr, citizen.access_token))
    assert [n.notification_id for n in listed(stub, applicant)][0] == sent.notification_id

    # Transferred to another agency (the events carry the handling agency): its officers notify too.
    dossier_events.send(
        dossier_events.assigned(dossier_id, applicant, "000.00.21.H56-260302-0004", agency, "000.00.23.H56")
    )
    specialist = officer("000.00.23.H56", Role.ROLE_SPECIALIST)[1]
    later = eventually(lambda: send(specialist), what="the transfer known to the service")
    assert later.body == sent.body
    refused(grpc.StatusCode.PERMISSION_DENIED, officer("000.00.24.H56")[1])
