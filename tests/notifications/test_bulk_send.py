"""SendNotifications: a batch of notifications queued in one call and one transaction, against
real processes (notifications, a gateway in front, PostgreSQL, Kafka, an SMTP server): each item
checked as SendNotification checks one, all of the batch queued or none, bad items named by
their index, a retried batch queuing nothing twice."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import grpc
import httpx2
import pytest
from google.rpc import error_details_pb2

from motcua.devstack import ServiceProcess, free_port
from motcua.devstack.services import gateway_env
from motcua.identity.v1.role_pb2 import Role
from motcua.notifications.v1 import notification_pb2, notification_service_pb2 as pb
from tests.support import auth
from tests.support.clients import details, field_violations, notifications_stub
from tests.support.waiting import eventually

from .conftest import mailing_service, province_operators

VN = timezone(timedelta(hours=7))
SUBJECT = "Hồ sơ {{ma}} đã có kết quả"
BODY = "Kính gửi ông/bà {{ten}},\nHồ sơ {{ma}} đã có kết quả, mời ông/bà đến nhận.\nTrân trọng."
NAMES = ("Nguyễn Thị Ánh Tuyết", "Trần Văn Đức", "Lê Hoàng Yến", "Phạm Quốc Việt", "Đặng Thuỳ Dương")


@pytest.fixture(scope="module")
def service(stack, notifications_db, smtp):
    process = mailing_service(stack, notifications_db, smtp).start()
    yield process
    assert process.terminate() == 0


@pytest.fixture(scope="module")
def operators(service):
    return province_operators(service)


@pytest.fixture(scope="module")
def gateway(stack, service):
    port = free_port()
    process = ServiceProcess("gateway", gateway_env(port, {"notifications": service.addr}),
                             stack.logs / f"gateway-{port}.log", ready_url=f"http://127.0.0.1:{port}/livez")
    process.start(timeout=120)
    process.url = f"http://127.0.0.1:{port}"
    yield process
    process.terminate()


@pytest.fixture(scope="module")
def email_template(operators) -> str:
    admin, _ = operators
    return admin.CreateTemplate(pb.CreateTemplateRequest(
        key=f"ket_qua_{uuid.uuid4().hex[:8]}", channel=notification_pb2.CHANNEL_EMAIL, subject=SUBJECT, body=BODY,
    )).template.template_id


def mailbox(tag: str) -> str:
    return f"{tag}.{uuid.uuid4().hex[:10]}@example.vn"


def item(template_id: str, address: str, n: int, **fields) -> pb.SendNotificationRequest:
    return pb.SendNotificationRequest(template_id=template_id, address=address,
                                      parameters={"ma": f"H56-{n:04d}", "ten": NAMES[n % len(NAMES)]}, **fields)


def refusal(call) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as failure:
        call()
    return failure.value


def delivered_after(admin, smtp, template_id: str) -> None:
    """Waits for one more e-mail, queued now: the sender takes notifications in the order they
    fell due, so anything queued before it would have reached the server first."""
    sentinel = mailbox("moc")
    admin.SendNotification(item(template_id, sentinel, 0))
    smtp.wait_for(sentinel)


def test_a_batch_with_vietnamese_text_is_queued_in_order_and_each_email_delivered_once(operators, smtp,
                                                                                      email_template):
    admin, auditor = operators
    addresses = [mailbox(f"nguoi.nhan.{n}") for n in range(25)]
    batch = pb.SendNotificationsRequest(notifications=[
        item(email_template, address, n, request_id=str(uuid.uuid4())) for n, address in enumerate(addresses)])

    queued = list(admin.SendNotifications(batch).notifications)

    assert [n.subject for n in queued] == [f"Hồ sơ H56-{n:04d} đã có kết quả" for n in range(25)]
    assert queued[1].body.startswith("Kính gửi ông/bà Trần Văn Đức,\n")
    assert len({n.notification_id for n in queued}) == 25
    for address in addresses:
        mail = smtp.wait_for(address)
        assert mail["Subject"].startswith("Hồ sơ H56-")
    fourth = smtp.wait_for(addresses[3]).get_body(("plain",)).get_content()
    assert "Kính gửi ông/bà Phạm Quốc Việt," in fourth
    assert auditor.GetNotification(pb.GetNotificationRequest(
        notification_id=queued[3].notification_id)).notification.subject == "Hồ sơ H56-0003 đã có kết quả"

    # The client did not hear the answer and sends the batch again: the same notifications, no
    # second e-mail.
    again = list(admin.SendNotifications(batch).notifications)
    assert [n.notification_id for n in again] == [n.notification_id for n in queued]
    # A batch with some items new and some sent before queues the new ones only.
    extra = mailbox("them")
    mixed = list(admin.SendNotifications(pb.SendNotificationsRequest(notifications=[
        batch.notifications[0], item(email_template, extra, 7, request_id=str(uuid.uuid4()))])).notifications)
    assert mixed[0].notification_id == queued[0].notification_id
    smtp.wait_for(extra)
    delivered_after(admin, smtp, email_template)
    assert [smtp.count_to(a) for a in addresses] == [1] * 25
    assert smtp.count_to(extra) == 1


def test_bad_items_are_refused_by_their_index_and_nothing_of_the_batch_is_queued(operators, smtp, email_template,
                                                                                  gateway):
    admin, _ = operators
    addresses = [mailbox(f"bi.tu.choi.{n}") for n in range(5)]
    items = [item(email_template, address, n) for n, address in enumerate(addresses)]
    items[3].address = "khong-phai-dia-chi"
    items[1].parameters["so_tai_khoan"] = "0123456789"

    error = refusal(lambda: admin.SendNotifications(pb.SendNotificationsRequest(notifications=items)))

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error.details()
    violations = field_violations(error)
    assert set(violations) == {"notifications[1].parameters[so_tai_khoan]", "notifications[3].address"}
    assert "khong-phai-dia-chi" in violations["notifications[3].address"]

    # A template that does not exist, a request id repeated within the call, a missing recipient
    # (the proto's rule, per item): each named by its index.
    request_id = str(uuid.uuid4())
    error = refusal(lambda: admin.SendNotifications(pb.SendNotificationsRequest(notifications=[
        item(str(uuid.uuid4()), mailbox("a"), 0), item(email_template, mailbox("b"), 1, request_id=request_id),
        item(email_template, mailbox("c"), 2, request_id=request_id), item(email_template, "", 3)])))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error.details()
    violations = field_violations(error)
    assert "notifications[3]" in violations, violations
    error = refusal(lambda: admin.SendNotifications(pb.SendNotificationsRequest(notifications=[
        item(str(uuid.uuid4()), mailbox("a"), 0), item(email_template, mailbox("b"), 1, request_id=request_id),
        item(email_template, mailbox("c"), 2, request_id=request_id)])))
    assert set(field_violations(error)) == {"notifications[0].template_id", "notifications[2].request_id"}

    # Empty, and more than a call may carry.
    assert "notifications" in field_violations(refusal(
        lambda: admin.SendNotifications(pb.SendNotificationsRequest())))
    too_many = pb.SendNotificationsRequest(notifications=[item(email_template, mailbox("x"), 0)] * 1001)
    assert "notifications" in field_violations(refusal(lambda: admin.SendNotifications(too_many)))

    # Through the gateway: HTTP 400 with the same field violations.
    token = auth.issue(roles=(Role.ROLE_ADMINISTRATOR,), agency_id="000.00.00.H56").access_token
    body = {"notifications": [{"template_id": email_template, "address": a, "parameters": {"ma": "H56-1", "ten": t}}
                              for a, t in zip(addresses, NAMES, strict=True)]}
    body["notifications"][3]["address"] = "khong-phai-dia-chi"
    reply = httpx2.post(f"{gateway.url}/v1/notifications:batchSend", json=body,
                        headers={"Authorization": f"Bearer {token}"}, trust_env=False)
    assert reply.status_code == 400, reply.text
    (bad_request,) = [d for d in reply.json()["error"]["details"] if d["@type"].endswith("google.rpc.BadRequest")]
    assert [v["field"] for v in bad_request["field_violations"]] == ["notifications[3].address"]

    delivered_after(admin, smtp, email_template)
    assert [smtp.count_to(a) for a in addresses] == [0] * 5

    # The same batch mended, through the gateway: queued, and its Vietnamese text intact.
    body["notifications"][3]["address"] = addresses[3]
    reply = httpx2.post(f"{gateway.url}/v1/notifications:batchSend", json=body,
                        headers={"Authorization": f"Bearer {token}"}, trust_env=False)
    assert reply.status_code == 200, reply.text
    assert [n["body"].splitlines()[0] for n in reply.json()["notifications"]] == \
        [f"Kính gửi ông/bà {t}," for t in NAMES]
    assert smtp.wait_for(addresses[4]).get_body(("plain",)).get_content().startswith(
        "Kính gửi ông/bà Đặng Thuỳ Dương,")


def test_a_caller_not_allowed_an_item_is_refused_naming_it_and_nothing_is_queued(service, operators,
                                                                                 dossier_events):
    admin, auditor = operators
    agency, applicant = "000.00.31.H56", str(uuid.uuid4())
    received = dossier_events.received(applicant, datetime(2026, 3, 9, 16, 0, tzinfo=VN),
                                       code="000.00.31.H56-260302-0009", agency_id=agency)
    dossier_events.send(received)
    inbox = pb.ListNotificationsRequest(recipient_account_id=applicant)
    eventually(lambda: list(auditor.ListNotifications(inbox).notifications), what="the dossier known to the service")
    template_id = admin.CreateTemplate(pb.CreateTemplateRequest(
        key=f"moi_nhan_{uuid.uuid4().hex[:8]}", channel=notification_pb2.CHANNEL_IN_APP,
        subject="Hồ sơ {{dossier_code}}", body="Mời ông/bà đến nhận kết quả hồ sơ {{dossier_code}} vào ngày {{ngay}}.",
    )).template.template_id
    officer = auth.issue(roles=(Role.ROLE_DESK_OFFICER,), agency_id=agency, display_name="Lê Văn Tâm")
    desk = notifications_stub(service.addr, officer.access_token)

    def notice(**overrides) -> pb.SendNotificationRequest:
        fields = {"recipient_account_id": applicant, "template_id": template_id,
                  "dossier_id": received.event.dossier_id, "parameters": {"ngay": "12/03/2026"}}
        return pb.SendNotificationRequest(**{**fields, **overrides})

    # The second item goes to somebody other than the dossier's applicant.
    error = refusal(lambda: desk.SendNotifications(pb.SendNotificationsRequest(notifications=[
        notice(), notice(recipient_account_id=str(uuid.uuid4()))])))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED, error.details()
    assert "notifications[1]" in error.details()
    (info,) = details(error, error_details_pb2.ErrorInfo)
    assert (info.reason, info.metadata["item"]) == ("NOT_APPLICANT", "1")
    # An officer of another agency, for every item.
    stranger = notifications_stub(service.addr, auth.issue(roles=(Role.ROLE_SPECIALIST,),
                                                           agency_id="000.00.32.H56").access_token)
    error = refusal(lambda: stranger.SendNotifications(pb.SendNotificationsRequest(notifications=[notice()])))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    # An applicant sends nothing at all.
    applicant_stub = notifications_stub(service.addr, auth.issue(roles=(Role.ROLE_APPLICANT,)).access_token)
    error = refusal(lambda: applicant_stub.SendNotifications(pb.SendNotificationsRequest(notifications=[notice()])))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    before = [n.notification_id for n in auditor.ListNotifications(inbox).notifications]

    # The allowed items alone: queued, the dossier's code filled from the dossier.
    request_id = str(uuid.uuid4())
    sent = list(desk.SendNotifications(pb.SendNotificationsRequest(notifications=[
        notice(), notice(request_id=request_id)])).notifications)
    assert [n.body for n in sent] == ["Mời ông/bà đến nhận kết quả hồ sơ 000.00.31.H56-260302-0009 vào ngày "
                                      "12/03/2026."] * 2
    assert all(n.sender == officer.account_id for n in sent)
    after = [n.notification_id for n in auditor.ListNotifications(inbox).notifications]
    assert after == [sent[1].notification_id, sent[0].notification_id, *before]

    # A colleague re-using the first sender's request id gets nothing of theirs, and queues nothing.
    colleague = notifications_stub(service.addr, auth.issue(roles=(Role.ROLE_SPECIALIST,),
                                                            agency_id=agency).access_token)
    error = refusal(lambda: colleague.SendNotifications(pb.SendNotificationsRequest(notifications=[
        notice(), notice(request_id=request_id)])))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED, error.details()
    (info,) = details(error, error_details_pb2.ErrorInfo)
    assert (info.reason, info.metadata["item"]) == ("NOT_OWNER", "1")
    assert [n.notification_id for n in auditor.ListNotifications(inbox).notifications] == after
