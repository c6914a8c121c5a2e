"""Notifications that leave the service: e-mail to a real SMTP server, SMS and Zalo ZNS to a
provider simulator over HTTP; the delivery life cycle, retries, dead letters and receipts."""

from __future__ import annotations

import json
import time
import uuid
from email.header import decode_header

import grpc
import httpx2
import pytest

from motcua.devstack import free_port
from motcua.devstack.provider_simulator import ProviderSimulator
from motcua.identity.v1.role_pb2 import Role
from motcua.notifications.callbacks import zalo_signature
from motcua.notifications.v1 import notification_pb2, notification_service_pb2 as pb
from tests.support import auth
from tests.support.clients import field_violations, notifications_stub
from tests.support.waiting import eventually

State = notification_pb2.NotificationState
CALLBACK_TOKEN = "esms-callback-secret"
ZALO_APP_ID = "4281356917523416"
ZALO_SECRET = "oa-secret-key"
MAX_ATTEMPTS = 4


@pytest.fixture(scope="module")
def provider():
    """The providers' simulator, slow enough when it injects a timeout to outlast the client's."""
    simulator = ProviderSimulator(timeout_sleep=3.0).start()
    yield simulator
    simulator.stop()


@pytest.fixture(scope="module")
def service(stack, notifications_db, smtp, provider):
    http_port = free_port()
    process = stack.service(
        "notifications",
        POSTGRES_DBNAME=notifications_db,
        MOTCUA_HTTP_ADDR=f"127.0.0.1:{http_port}",
        MOTCUA_SMTP_HOST="127.0.0.1",
        MOTCUA_SMTP_PORT=str(smtp.port),
        MOTCUA_SMTP_STARTTLS="false",
        MOTCUA_SMTP_FROM="mot-cua@hanam.gov.vn",
        MOTCUA_ESMS_URL=provider.url,
        MOTCUA_ESMS_API_KEY="api-key",
        MOTCUA_ESMS_SECRET_KEY="secret-key",
        MOTCUA_ESMS_BRANDNAME="MOTCUA.HNA",
        MOTCUA_ESMS_CALLBACK_URL=f"http://127.0.0.1:{http_port}/v1/callbacks/esms?token={CALLBACK_TOKEN}",
        MOTCUA_ESMS_CALLBACK_TOKEN=CALLBACK_TOKEN,
        MOTCUA_ZALO_ZNS_URL=provider.url,
        MOTCUA_ZALO_ACCESS_TOKEN=provider.access_token,
        MOTCUA_ZALO_APP_ID=ZALO_APP_ID,
        MOTCUA_ZALO_OA_SECRET_KEY=ZALO_SECRET,
        MOTCUA_ZALO_TEMPLATES="thong_bao_zalo=235613",
        MOTCUA_NOTIFY_MAX_ATTEMPTS=str(MAX_ATTEMPTS),
        MOTCUA_NOTIFY_RETRY_BASE="0.05",
        MOTCUA_NOTIFY_POLL_INTERVAL="0.05",
        MOTCUA_PROVIDER_TIMEOUT="1",
    ).start()
    process.http_url = f"http://127.0.0.1:{http_port}"
    yield process
    assert process.terminate() == 0


@pytest.fixture(scope="module")
def admin(service):
    return notifications_stub(service.addr, auth.issue(roles=(Role.ROLE_ADMINISTRATOR,),
                                                       agency_id="000.00.00.H56").access_token)


@pytest.fixture(scope="module")
def auditor(service):
    token = auth.issue(roles=(Role.ROLE_AUDITOR,), agency_id="000.00.00.H56").access_token
    return notifications_stub(service.addr, token)


def template(admin, channel, subject: str, body: str, key: str = "") -> str:
    return admin.CreateTemplate(pb.CreateTemplateRequest(
        key=key or f"thong_bao_{uuid.uuid4().hex[:8]}", channel=channel, subject=subject, body=body,
    )).template.template_id


def send(admin, template_id: str, address: str, **parameters: str) -> str:
    return admin.SendNotification(pb.SendNotificationRequest(
        template_id=template_id, address=address, parameters=parameters,
    )).notification.notification_id


def settled(auditor, notification_id: str, *states: int):
    def probe():
        n = auditor.GetNotification(pb.GetNotificationRequest(notification_id=notification_id)).notification
        return n if n.state in states else None
    return eventually(probe, what=f"notification in state {states}")


def unique_phone() -> str:
    return "09" + str(uuid.uuid4().int)[:8]


SUBJECT = "Hồ sơ {{ma}}: yêu cầu bổ sung giấy tờ"
BODY = "Kính gửi ông/bà {{ten}},\nĐề nghị bổ sung: Giấy khai sinh bản sao; Sổ hộ khẩu.\nTrân trọng."


def test_an_email_reaches_the_smtp_server_with_its_vietnamese_subject_and_both_parts(admin, auditor, smtp):
    email_template = template(admin, notification_pb2.CHANNEL_EMAIL, SUBJECT, BODY)
    notification_id = send(admin, email_template, "nguyen.van.an@example.vn", ma="H56-0001", ten="Nguyễn Văn Ân")

    mail = smtp.wait_for("nguyen.van.an@example.vn")
    assert mail["Subject"] == "Hồ sơ H56-0001: yêu cầu bổ sung giấy tờ"
    raw = smtp.messages[-1][1].decode("ascii")  # 7-bit on the wire: headers encoded per RFC 2047
    raw_subject = next(line for line in raw.splitlines() if line.startswith("Subject:"))
    assert "=?utf-8?" in raw_subject.lower()
    assert "".join(part.decode(charset or "ascii") if isinstance(part, bytes) else part
                   for part, charset in decode_header(raw_subject.removeprefix("Subject: "))).startswith("Hồ sơ")
    text = mail.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert text.strip() == BODY.replace("{{ten}}", "Nguyễn Văn Ân")
    html = mail.get_body(("html",)).get_content()
    assert "<p>Kính gửi ông/bà Nguyễn Văn Ân,</p>" in html and 'lang="vi"' in html

    sent = settled(auditor, notification_id, State.NOTIFICATION_STATE_SENT)
    assert (sent.provider, sent.provider_message_id) == ("smtp", mail["Message-ID"])
    assert sent.attempt_count == 1


def test_a_refused_mailbox_bounces_without_retrying(admin, auditor, smtp):
    smtp.unknown_mailboxes.add("khong.ton.tai")
    email_template = template(admin, notification_pb2.CHANNEL_EMAIL, "Thông báo", "Nội dung có dấu")
    notification_id = send(admin, email_template, "khong.ton.tai@example.vn")
    bounced = settled(auditor, notification_id, State.NOTIFICATION_STATE_BOUNCED)
    assert bounced.attempt_count == 1 and "550" in bounced.last_error
    # The server quoted the address: it is neither recorded nor logged.
    assert "<recipient>" in bounced.last_error and "khong.ton.tai" not in bounced.last_error
    assert smtp.count_to("khong.ton.tai@example.vn") == 0


def test_an_sms_goes_unaccented_to_the_brandname_api_and_its_receipt_is_idempotent(admin, auditor, provider, service):
    sms_template = template(admin, notification_pb2.CHANNEL_SMS, "",
                            "Ho so {{ma}}: đề nghị ông/bà {{ten}} bổ sung giấy tờ tại Bộ phận Một cửa.")
    phone = unique_phone()
    notification_id = send(admin, sms_template, f"+84 {phone[1:4]} {phone[4:7]} {phone[7:]}", ma="H56-0002",
                           ten="Đặng Thị Hà")
    (request,) = provider.wait_requests(phone, 1)
    assert request["Content"] == "Ho so H56-0002: de nghi ong/ba Dang Thi Ha bo sung giay to tai Bo phan Mot cua."
    assert (request["Brandname"], request["SmsType"], request["IsUnicode"]) == ("MOTCUA.HNA", "2", "0")
    assert request["RequestId"] == notification_id
    assert request["CallbackUrl"].endswith(f"token={CALLBACK_TOKEN}")
    sent = settled(auditor, notification_id, State.NOTIFICATION_STATE_SENT)
    assert sent.provider == "esms" and sent.provider_message_id

    receipt = {"SMSID": sent.provider_message_id, "SendStatus": "5", "SendSuccess": "1", "SendFailed": "0",
               "TypeId": "2", "phonenumber": phone}
    callback = f"{service.http_url}/v1/callbacks/esms"
    assert httpx2.get(callback, params={**receipt, "token": "đoán"}).status_code == 403
    assert httpx2.get(callback, params=receipt).status_code == 403
    first = httpx2.get(callback, params={**receipt, "token": CALLBACK_TOKEN})
    assert first.status_code == 200 and first.json() == {"recorded": True}
    again = httpx2.get(callback, params={**receipt, "token": CALLBACK_TOKEN})
    assert again.status_code == 200 and again.json() == {"recorded": False}
    unknown = httpx2.get(callback, params={**receipt, "SMSID": "khong-co", "token": CALLBACK_TOKEN})
    assert unknown.status_code == 404
    delivered = settled(auditor, notification_id, State.NOTIFICATION_STATE_DELIVERED)
    assert delivered.version == sent.version + 1


def test_transient_failures_are_retried_until_the_provider_accepts(admin, auditor, provider):
    sms_template = template(admin, notification_pb2.CHANNEL_SMS, "", "Hồ sơ {{ma}} đã có kết quả.")
    phone = unique_phone()
    provider.script(phone, "throttle", "5xx", "timeout")
    notification_id = send(admin, sms_template, phone, ma="H56-0003")
    sent = settled(auditor, notification_id, State.NOTIFICATION_STATE_SENT)
    assert sent.attempt_count == 4
    assert [b for p, ph, b in provider.answers if ph == phone] == ["throttle", "5xx", "timeout", "ok"]
    # The same request each time: the provider de-duplicates by RequestId.
    assert {r["RequestId"] for r in provider.requests_for(phone)} == {notification_id}


def test_after_the_last_attempt_the_notification_is_a_dead_letter(admin, auditor, provider):
    sms_template = template(admin, notification_pb2.CHANNEL_SMS, "", "Hồ sơ {{ma}} quá hạn.")
    phone = unique_phone()
    provider.script(phone, *["5xx"] * (MAX_ATTEMPTS + 2))
    notification_id = send(admin, sms_template, phone, ma="H56-0004")
    failed = settled(auditor, notification_id, State.NOTIFICATION_STATE_FAILED)
    assert failed.attempt_count == MAX_ATTEMPTS
    assert "HTTP 503" in failed.last_error and "giving up" in failed.last_error
    time.sleep(0.5)  # a worker that kept trying would have sent again by now
    assert len(provider.requests_for(phone)) == MAX_ATTEMPTS


@pytest.mark.parametrize(("behaviour", "state", "error"), [
    ("invalid_number", State.NOTIFICATION_STATE_BOUNCED, "eSMS 108"),
    ("not_approved", State.NOTIFICATION_STATE_FAILED, "eSMS 146"),
])
def test_permanent_refusals_are_not_retried(admin, auditor, provider, behaviour, state, error):
    sms_template = template(admin, notification_pb2.CHANNEL_SMS, "", "Thông báo {{ma}}.")
    phone = unique_phone()
    provider.script(phone, behaviour)
    notification_id = send(admin, sms_template, phone, ma="H56-0005")
    settled_one = settled(auditor, notification_id, state)
    assert settled_one.attempt_count == 1 and error in settled_one.last_error
    time.sleep(0.5)
    assert len(provider.requests_for(phone)) == 1


def test_zalo_zns_gets_the_template_data_and_a_signed_receipt_marks_it_delivered(admin, auditor, provider, service):
    zalo_template = template(admin, notification_pb2.CHANNEL_ZALO, "", "Hồ sơ {{ma}} của {{ten}} đã có kết quả.",
                             key="thong_bao_zalo")
    phone = unique_phone()
    notification_id = send(admin, zalo_template, phone, ma="H56-0006", ten="Lê Thị Thuỷ")
    zns_phone = "84" + phone[1:]
    (request,) = provider.wait_requests(zns_phone, 1)
    assert request == {"phone": zns_phone, "template_id": "235613",
                       "template_data": {"ma": "H56-0006", "ten": "Lê Thị Thuỷ"}, "tracking_id": notification_id}
    sent = settled(auditor, notification_id, State.NOTIFICATION_STATE_SENT)

    event = {"app_id": ZALO_APP_ID, "event_name": "user_received_message", "timestamp": "1767225600000",
             "message": {"msg_id": sent.provider_message_id, "tracking_id": notification_id,
                         "delivery_time": "1767225600000"}}
    body = json.dumps(event, ensure_ascii=False).encode()
    url = f"{service.http_url}/v1/callbacks/zalo"
    forged = httpx2.post(url, content=body, headers={"X-ZEvent-Signature": "mac=" + "0" * 64})
    assert forged.status_code == 403
    signature = zalo_signature(ZALO_APP_ID, body, event["timestamp"], ZALO_SECRET)
    accepted = httpx2.post(url, content=body, headers={"X-ZEvent-Signature": signature})
    assert accepted.status_code == 200 and accepted.json() == {"recorded": True}
    settled(auditor, notification_id, State.NOTIFICATION_STATE_DELIVERED)


def test_zalo_template_not_approved_fails_and_an_unmapped_one_never_reaches_zalo(admin, auditor, provider):
    approved = template(admin, notification_pb2.CHANNEL_ZALO, "", "Thông báo {{ma}}.", key="thong_bao_zalo_2")
    phone = unique_phone()
    notification_id = send(admin, approved, phone, ma="H56-0007")
    failed = settled(auditor, notification_id, State.NOTIFICATION_STATE_FAILED)
    assert "no approved ZNS template" in failed.last_error
    assert provider.requests_for("84" + phone[1:]) == []

    mapped = admin.GetTemplate(pb.GetTemplateRequest(template_id=template_id_of(admin, "thong_bao_zalo"))).template
    provider.script("84" + phone[1:], "not_approved")
    notification_id = send(admin, mapped.template_id, phone, ma="H56-0008", ten="Bùi Văn Đức")
    failed = settled(auditor, notification_id, State.NOTIFICATION_STATE_FAILED)
    assert "-117" in failed.last_error


def template_id_of(admin, key: str) -> str:
    from motcua.notifications.domain import ZALO, template_id

    return str(template_id(key, ZALO))


@pytest.mark.parametrize(("channel", "address", "reason"), [
    (notification_pb2.CHANNEL_SMS, "0123 45", "INVALID_PHONE_NUMBER"),
    (notification_pb2.CHANNEL_ZALO, "+1 415 555 0100", "INVALID_PHONE_NUMBER"),
    (notification_pb2.CHANNEL_EMAIL, "Nguyễn <an@example.vn>", "INVALID_EMAIL_ADDRESS"),
])
def test_an_address_the_channel_cannot_reach_is_refused_with_a_field_violation(admin, channel, address, reason):
    template_id = template(admin, channel, "Thông báo", "Nội dung")
    with pytest.raises(grpc.RpcError) as failure:
        send(admin, template_id, address)
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert address in field_violations(failure.value)["address"]
