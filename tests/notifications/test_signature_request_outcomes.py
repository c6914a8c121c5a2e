"""How a signature request ends reaches the people concerned through the notifications service,
and every notice of a request for a dossier names the dossier by its code: real signing (its
outbox relay, its expiry worker, a signer-device simulator) → `motcua.signing.events.v1` on
Kafka → real notifications → inboxes and a real SMTP server. The requester hears that the
document was signed, refused or expired; the officer hears that a request was withdrawn; each
once, even when Kafka delivers the event again."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from kafka import KafkaProducer

from motcua.common.v1.envelope_pb2 import EventEnvelope
from motcua.dossiers.v1 import events_pb2 as dossier_events_pb2
from motcua.identity.v1.role_pb2 import Role
from motcua.kernel.kafka import HEADER_EVENT_ID, HEADER_EVENT_TYPE
from motcua.kernel.localtime import VIETNAM
from motcua.notifications.v1 import notification_pb2, notification_service_pb2 as npb
from motcua.signing.v1 import events_pb2, signature_request_pb2 as rpb, signing_service_pb2 as pb
from tests.signing.pdfs import vietnamese_pdf
from tests.signing.signer_device import enrolled_device
from tests.support import auth
from tests.support.clients import notifications_stub, signing_stub
from tests.support.dossier_events import DossierEvents
from tests.support.topics import find_envelope
from tests.support.waiting import eventually

from .conftest import mailing_service, remote_signing_service

COMMUNE = "000.21.30.H56"  # Ủy ban nhân dân phường Hạc Thành
OFFICER = str(uuid.uuid4())  # the commune's chairman, who signs results
OFFICER_NAME = "Lê Văn Thịnh"
REQUESTER = str(uuid.uuid4())  # a specialist of the commune who prepared the result
REQUESTER_NAME = "Phạm Thị Ngọc Ánh"
DOSSIER_CODE = "000.21.30.H56-261207-0042"
SIGNING_TOPIC = "motcua.signing.events.v1"
# Long enough for the device to answer the requests the tests answer, short enough that the
# test sees one nobody answers expire by itself.
REQUEST_TTL_SECONDS = 25


@pytest.fixture(scope="module")
def directory(tmp_path_factory):
    return tmp_path_factory.mktemp("signature-outcomes")


@pytest.fixture(scope="module")
def device(directory):
    with enrolled_device(directory, OFFICER, OFFICER_NAME, "Ủy ban nhân dân phường Hạc Thành") as device:
        yield device


@pytest.fixture(scope="module")
def signing(stack, directory, device):
    process = remote_signing_service(stack, directory, REQUEST_TTL_SECONDS).start()
    yield process
    assert process.terminate() == 0


@pytest.fixture(scope="module")
def notifications(stack, notifications_db, smtp):
    process = mailing_service(stack, notifications_db, smtp, MOTCUA_NOTIFY_QUIET_HOURS="00:00-00:00").start()
    yield process
    assert process.terminate() == 0


@pytest.fixture(scope="module")
def inbox(notifications):
    """An auditor, who reads anyone's notifications."""
    token = auth.issue(roles=(Role.ROLE_AUDITOR,), agency_id=COMMUNE).access_token
    return notifications_stub(notifications.addr, token)


@pytest.fixture(scope="module")
def dossier_id(stack, inbox) -> str:
    """A dossier of the commune the notifications service has heard of, with its code: its
    applicant's receipt notice is made in the transaction that keeps the dossier's copy."""
    applicant = str(uuid.uuid4())
    events = DossierEvents(stack.kafka.bootstrap)
    received = events.received(applicant, dt.datetime.now(dt.UTC) + dt.timedelta(days=5), code=DOSSIER_CODE,
                               agency_id=COMMUNE)
    events.send(received)
    events.close()
    eventually(lambda: notices(inbox, applicant, f"Hồ sơ {DOSSIER_CODE} đã được tiếp nhận"),
               what="the dossier heard of by notifications")
    assert isinstance(received.event, dossier_events_pb2.DossierReceived)
    return received.event.dossier_id


@pytest.fixture(scope="module")
def requester(signing):
    token = auth.issue(roles=(Role.ROLE_SPECIALIST,), agency_id=COMMUNE, account_id=REQUESTER,
                       display_name=REQUESTER_NAME).access_token
    return signing_stub(signing.addr, token)


@pytest.fixture(scope="module")
def officer(signing):
    token = auth.issue(roles=(Role.ROLE_LEADER,), agency_id=COMMUNE, account_id=OFFICER,
                       display_name=OFFICER_NAME).access_token
    return signing_stub(signing.addr, token)


@pytest.fixture(scope="module")
def requester_mail(notifications) -> str:
    token = auth.issue(roles=(Role.ROLE_SPECIALIST,), agency_id=COMMUNE, account_id=REQUESTER).access_token
    address = f"anh.{uuid.uuid4().hex[:8]}@hacthanh.thanhhoa.gov.vn"
    notifications_stub(notifications.addr, token).SetContactPoints(
        npb.SetContactPointsRequest(account_id=REQUESTER, email=address))
    return address


def ask(requester, document_name: str, dossier_id: str = "") -> rpb.SignatureRequest:
    return requester.CreateSignatureRequest(pb.CreateSignatureRequestRequest(
        document=vietnamese_pdf(), document_name=document_name, method=rpb.SIGNATURE_METHOD_REMOTE,
        signer_account_id=OFFICER, agency_id=COMMUNE, dossier_id=dossier_id,
        reason="Phê duyệt kết quả giải quyết hồ sơ")).signature_request


def notices(inbox, account: str, subject: str) -> list:
    listed = inbox.ListNotifications(npb.ListNotificationsRequest(
        recipient_account_id=account, channel=notification_pb2.Channel.CHANNEL_IN_APP)).notifications
    return [n for n in listed if n.subject == subject]


def local(moment) -> dt.datetime:
    return moment.ToDatetime().replace(tzinfo=dt.UTC).astimezone(VIETNAM)


def published(stack, request_id: str, event_type: str) -> EventEnvelope:
    return find_envelope(stack.kafka.bootstrap, SIGNING_TOPIC,
                         lambda e: e.aggregate_id == request_id and e.type == f"motcua.signing.v1.{event_type}")


def deliver_again(stack, envelope: EventEnvelope) -> None:
    """The same message once more, as Kafka redelivers it (same key, headers and bytes)."""
    producer = KafkaProducer(bootstrap_servers=stack.kafka.bootstrap)
    try:
        producer.send(SIGNING_TOPIC, key=envelope.aggregate_id.encode(), value=envelope.SerializeToString(),
                      headers=[(HEADER_EVENT_ID, envelope.event_id.encode()),
                               (HEADER_EVENT_TYPE, envelope.type.encode())])
        producer.flush()
    finally:
        producer.close()


def test_the_officer_s_notice_names_the_dossier_by_its_code(requester, inbox, dossier_id):
    document = "Quyết định cấp giấy phép xây dựng — hộ ông Trịnh Văn Hùng.pdf"
    subject = f"Yêu cầu ký số: {document}, hồ sơ {DOSSIER_CODE}"
    asked = ask(requester, document, dossier_id)
    (notice,) = eventually(lambda: notices(inbox, OFFICER, subject), what="the notice naming the dossier's code")
    expires = local(asked.expire_time)
    assert notice.body == (f"Yêu cầu ký số văn bản {document}, hồ sơ {DOSSIER_CODE} đang chờ đồng chí xác nhận "
                           f"trên thiết bị ký số. Yêu cầu hết hạn lúc {expires:%H:%M} ngày {expires:%d/%m/%Y}.")
    assert notice.dossier_id == dossier_id
    # A request for no dossier names the document alone.
    alone = "Công văn số 215/UBND-VP.pdf"
    ask(requester, alone)
    eventually(lambda: notices(inbox, OFFICER, f"Yêu cầu ký số: {alone}"), what="the notice without a dossier")


def test_the_requester_hears_once_that_the_document_was_signed(stack, requester, officer, inbox, device, dossier_id,
                                                               requester_mail, smtp):
    document = "Giấy chứng nhận quyền sử dụng đất — bà Đỗ Thị Hường.pdf"
    asked = ask(requester, document, dossier_id)
    device.confirm(officer, asked.signature_request_id)

    subject = f"Đã ký số: {document}, hồ sơ {DOSSIER_CODE}"
    (notice,) = eventually(lambda: notices(inbox, REQUESTER, subject), what="the requester's notice")
    signed = published(stack, asked.signature_request_id, "DocumentSigned")
    event = events_pb2.DocumentSigned()
    signed.payload.Unpack(event)
    assert (event.requester_account_id, event.signer_account_id, event.document_name) == (REQUESTER, OFFICER,
                                                                                          document)
    at = local(signed.occurred_at)
    assert notice.body == (f"Văn bản {document}, hồ sơ {DOSSIER_CODE} đã được ký số lúc {at:%H:%M} ngày "
                           f"{at:%d/%m/%Y}. Đồng chí tiếp tục xử lý văn bản đã ký.")
    letter = smtp.wait_for(requester_mail)
    assert letter["subject"] == subject
    assert f"đã được ký số lúc {at:%H:%M}" in letter.get_body(("plain",)).get_content()

    # Delivered again, then a later request's event: once that one is heard of, the first was
    # consumed again, and made no second notice.
    deliver_again(stack, signed)
    later = "Văn bản đánh dấu thứ tự.pdf"
    ask(requester, later)
    eventually(lambda: notices(inbox, OFFICER, f"Yêu cầu ký số: {later}"), what="the later request's notice")
    assert len(notices(inbox, REQUESTER, subject)) == 1


def test_the_requester_hears_of_a_refusal_with_its_reason(stack, requester, officer, inbox, device):
    document = "Giấy khai sinh — cháu Nguyễn Minh Khôi.pdf"
    asked = ask(requester, document)
    officer.RefuseSignatureRequest(pb.RefuseSignatureRequestRequest(
        signature_request_id=asked.signature_request_id, reason="Sai ngày sinh của người được khai sinh"))
    (notice,) = eventually(lambda: notices(inbox, REQUESTER, f"Từ chối ký số: {document}"),
                           what="the requester's notice of the refusal")
    at = local(published(stack, asked.signature_request_id, "SignatureRequestFailed").occurred_at)
    assert notice.body == (f"Yêu cầu ký số văn bản {document} đã bị từ chối lúc {at:%H:%M} ngày {at:%d/%m/%Y}. "
                           "Lý do: Sai ngày sinh của người được khai sinh")


def test_the_officer_hears_that_a_request_was_withdrawn(requester, inbox):
    document = "Tờ trình số 88/TTr-UBND.pdf"
    asked = ask(requester, document)
    requester.CancelSignatureRequest(pb.CancelSignatureRequestRequest(
        signature_request_id=asked.signature_request_id, reason="Đã thay bằng tờ trình số 89"))
    (notice,) = eventually(lambda: notices(inbox, OFFICER, f"Đã hủy yêu cầu ký số: {document}"),
                           what="the officer's notice of the withdrawal")
    assert "đồng chí không cần ký văn bản này. Lý do: Đã thay bằng tờ trình số 89" in notice.body
    assert not notices(inbox, REQUESTER, f"Đã hủy yêu cầu ký số: {document}")  # they withdrew it themselves


def test_the_requester_hears_that_nobody_signed_in_time(stack, requester, inbox, dossier_id):
    document = "Quyết định trợ cấp xã hội — ông Hoàng Văn Tư.pdf"
    asked = ask(requester, document, dossier_id)
    subject = f"Hết hạn ký số: {document}, hồ sơ {DOSSIER_CODE}"
    (notice,) = eventually(lambda: notices(inbox, REQUESTER, subject), timeout=REQUEST_TTL_SECONDS + 60,
                           what="the requester's notice of the expiry")
    expired = local(published(stack, asked.signature_request_id, "SignatureRequestFailed").occurred_at)
    assert notice.body == (f"Yêu cầu ký số văn bản {document}, hồ sơ {DOSSIER_CODE} đã hết hạn lúc "
                           f"{expired:%H:%M} ngày {expired:%d/%m/%Y} mà chưa được ký. Đồng chí tạo yêu cầu mới nếu "
                           "văn bản vẫn cần ký.")
