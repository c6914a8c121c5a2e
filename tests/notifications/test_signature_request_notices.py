"""The officer hears of a document waiting for their signature through the notifications
service, and a request nobody answers expires by itself: real signing (its outbox relay and
its expiry worker) → `motcua.signing.events.v1` on Kafka → real notifications → the officer's
inbox and a real SMTP server. The events name the officer's account alone; the address is
notifications' own."""

from __future__ import annotations

import datetime as dt
import uuid

import psycopg
import pytest

from motcua.identity.v1.role_pb2 import Role
from motcua.kernel.localtime import VIETNAM
from motcua.notifications.v1 import notification_pb2, notification_service_pb2 as npb
from motcua.signing.v1 import events_pb2, signature_request_pb2 as rpb, signing_service_pb2 as pb
from tests.signing.pdfs import vietnamese_pdf
from tests.signing.signer_device import enrolled_device
from tests.support import auth
from tests.support.clients import notifications_stub, signing_stub
from tests.support.topics import find_envelope
from tests.support.waiting import eventually

from .conftest import mailing_service, remote_signing_service

COMMUNE = "000.21.30.H56"  # Ủy ban nhân dân phường Hạc Thành
OFFICER = str(uuid.uuid4())  # the commune's chairman, who signs results
OFFICER_NAME = "Nguyễn Đức Thắng"
REQUESTER = str(uuid.uuid4())  # a specialist of the commune who prepared the result
DOCUMENT_NAME = "Quyết định công nhận kết quả — hộ bà Đỗ Thị Hường.pdf"
SIGNING_TOPIC = "motcua.signing.events.v1"
# Short enough that the test sees a request expire by itself (the worker looks often), long
# enough that the officer hears of it before: a request heard of expired makes no notice.
REQUEST_TTL_SECONDS = 20


@pytest.fixture(scope="module")
def directory(tmp_path_factory):
    return tmp_path_factory.mktemp("signature-notices")


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
    # Quiet all day: a signature request (it expires soon) goes out.
    process = mailing_service(stack, notifications_db, smtp, MOTCUA_NOTIFY_QUIET_HOURS="00:00-23:59").start()
    yield process
    assert process.terminate() == 0


@pytest.fixture(scope="module")
def requester(signing):
    token = auth.issue(roles=(Role.ROLE_SPECIALIST,), agency_id=COMMUNE, account_id=REQUESTER).access_token
    return signing_stub(signing.addr, token)


@pytest.fixture(scope="module")
def officer_inbox(notifications):
    token = auth.issue(roles=(Role.ROLE_LEADER,), agency_id=COMMUNE, account_id=OFFICER,
                       display_name=OFFICER_NAME).access_token
    return notifications_stub(notifications.addr, token)


def ask(requester, dossier_id: str = "") -> rpb.SignatureRequest:
    return requester.CreateSignatureRequest(pb.CreateSignatureRequestRequest(
        document=vietnamese_pdf(), document_name=DOCUMENT_NAME, method=rpb.SIGNATURE_METHOD_REMOTE,
        signer_account_id=OFFICER, agency_id=COMMUNE, dossier_id=dossier_id,
        reason="Phê duyệt kết quả giải quyết hồ sơ")).signature_request


def signature_notices(stub, request: rpb.SignatureRequest) -> list:
    listed = stub.ListNotifications(npb.ListNotificationsRequest(
        recipient_account_id=OFFICER, channel=notification_pb2.Channel.CHANNEL_IN_APP)).notifications
    return [n for n in listed if n.subject == f"Yêu cầu ký số: {DOCUMENT_NAME}"
            and n.dossier_id == request.dossier_id]


def signing_events(stack, request_id: str) -> list[str]:
    with psycopg.connect(stack.dsn("signing")) as conn:
        rows = conn.execute("SELECT topic FROM signing_events WHERE originator_id = %s ORDER BY originator_version",
                            (request_id,)).fetchall()
    return [topic.rsplit(":", 1)[1] for (topic,) in rows]


def test_the_officer_finds_the_request_in_their_inbox_and_mail_with_its_title_and_expiry(
        stack, requester, officer_inbox, smtp, device):
    address = f"thang.{uuid.uuid4().hex[:8]}@hacthanh.thanhhoa.gov.vn"
    officer_inbox.SetContactPoints(npb.SetContactPointsRequest(account_id=OFFICER, email=address))
    dossier_id = str(uuid.uuid4())
    asked = ask(requester, dossier_id)
    expires = asked.expire_time.ToDatetime().replace(tzinfo=dt.UTC).astimezone(VIETNAM)

    (notice,) = eventually(lambda: signature_notices(officer_inbox, asked), what="the officer's in-app notice")
    assert notice.body == (f"Yêu cầu ký số văn bản {DOCUMENT_NAME} đang chờ đồng chí xác nhận trên thiết bị ký số. "
                           f"Yêu cầu hết hạn lúc {expires:%H:%M} ngày {expires:%d/%m/%Y}.")
    letter = smtp.wait_for(address)
    assert letter["subject"] == f"Yêu cầu ký số: {DOCUMENT_NAME}"
    text = letter.get_body(("plain",)).get_content()
    assert DOCUMENT_NAME in text and f"{expires:%H:%M} ngày {expires:%d/%m/%Y}" in text

    # What was published names the document and the officer, never its contents.
    envelope = find_envelope(stack.kafka.bootstrap, SIGNING_TOPIC,
                             lambda e: e.aggregate_id == asked.signature_request_id
                             and e.type == "motcua.signing.v1.SignatureRequested")
    published = events_pb2.SignatureRequested()
    envelope.payload.Unpack(published)
    assert (published.signer_account_id, published.requester_account_id) == (OFFICER, REQUESTER)
    assert (published.agency_id, published.dossier_id, published.document_name) == (COMMUNE, dossier_id,
                                                                                     DOCUMENT_NAME)
    assert published.expire_time == asked.expire_time
    assert published.document_sha256 == asked.document_sha256
    assert b"%PDF" not in envelope.SerializeToString()

    # One notice per request: a second request for the same dossier makes a second one.
    ask(requester, dossier_id)
    eventually(lambda: len(signature_notices(officer_inbox, asked)) == 2, what="the second request's notice")


def test_an_unanswered_request_expires_by_itself_and_the_expiry_is_published(stack, requester):
    asked = ask(requester)
    # Nobody reads or answers it: the expiry worker records it.
    expired = ["SignatureRequest.Requested", "SignatureRequest.Expired"]
    eventually(lambda: signing_events(stack, asked.signature_request_id) == expired,
               timeout=REQUEST_TTL_SECONDS + 60, what="the request recorded as expired")
    envelope = find_envelope(stack.kafka.bootstrap, SIGNING_TOPIC,
                             lambda e: e.aggregate_id == asked.signature_request_id
                             and e.type == "motcua.signing.v1.SignatureRequestFailed")
    failed = events_pb2.SignatureRequestFailed()
    envelope.payload.Unpack(failed)
    assert failed.failure == events_pb2.SIGNATURE_REQUEST_FAILURE_EXPIRED
    assert (failed.signature_request_id, failed.signer_account_id) == (asked.signature_request_id, OFFICER)
    assert envelope.aggregate_version == 2
    assert failed.failure_reason == "Hết thời hạn chờ người ký xác nhận"
    # The request answers as failed for its expiry.
    answered = requester.GetSignatureRequest(pb.GetSignatureRequestRequest(
        signature_request_id=asked.signature_request_id)).signature_request
    assert (answered.state, answered.failure_reason) == (rpb.SIGNATURE_REQUEST_STATE_FAILED,
                                                         "Hết thời hạn chờ người ký xác nhận")
