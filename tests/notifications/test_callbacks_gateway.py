"""The providers' receipts reach the notifications service through the gateway, the one public
address (/v1/notifications/callbacks/{provider}), and are verified there as when posted to its
own HTTP port: real notifications and gateway processes, the providers' simulator."""

from __future__ import annotations

import json
import uuid

import httpx2
import pytest

from motcua.devstack import free_port
from motcua.identity.v1.role_pb2 import Role
from motcua.notifications.callbacks import zalo_signature
from motcua.notifications.v1 import notification_pb2, notification_service_pb2 as pb
from tests.support import auth
from tests.support.identity import seed_agencies
from tests.support.waiting import eventually

from .conftest import province_operators, receipts_gateway

State = notification_pb2.NotificationState
CALLBACK_TOKEN = "esms-receipt-secret"
ZALO_APP_ID = "4281356917523416"
ZALO_SECRET = "oa-secret-key-2"


@pytest.fixture(scope="module")
def platform(stack, notifications_db, provider):
    """notifications (its HTTP port internal), and a gateway in front passing the receipts."""
    http_port, gateway_port = free_port(), free_port()
    public = f"http://127.0.0.1:{gateway_port}"
    service = stack.service(
        "notifications",
        POSTGRES_DBNAME=notifications_db,
        MOTCUA_HTTP_ADDR=f"127.0.0.1:{http_port}",
        MOTCUA_ESMS_URL=provider.url,
        MOTCUA_ESMS_BRANDNAME="MOTCUA.HNA",
        # What eSMS is told to call: the gateway's public address.
        MOTCUA_ESMS_CALLBACK_URL=f"{public}/v1/notifications/callbacks/esms?token={CALLBACK_TOKEN}",
        MOTCUA_ESMS_CALLBACK_TOKEN=CALLBACK_TOKEN,
        MOTCUA_ZALO_ZNS_URL=provider.url,
        MOTCUA_ZALO_ACCESS_TOKEN=provider.access_token,
        MOTCUA_ZALO_APP_ID=ZALO_APP_ID,
        MOTCUA_ZALO_OA_SECRET_KEY=ZALO_SECRET,
        MOTCUA_ZALO_TEMPLATES="bien_nhan_zalo=235699",
        MOTCUA_NOTIFY_POLL_INTERVAL="0.05",
        MOTCUA_NOTIFY_QUIET_HOURS="off",
    ).start(wait=False)
    service.wait_healthy(timeout=180)  # the first process of a loaded machine's session may be slow
    gateway = receipts_gateway(stack, service, http_port, gateway_port)
    admin, auditor = province_operators(service)
    yield public, admin, auditor
    gateway.terminate()
    assert service.terminate() == 0


def sent(admin, auditor, channel, body: str, address: str, key: str = ""):
    template = admin.CreateTemplate(pb.CreateTemplateRequest(
        key=key or f"bien_nhan_{uuid.uuid4().hex[:8]}", channel=channel, subject="", body=body)).template
    notification_id = admin.SendNotification(pb.SendNotificationRequest(
        template_id=template.template_id, address=address, parameters={"ma": "H56-0101"})).notification.notification_id
    return eventually(lambda: n if (n := auditor.GetNotification(pb.GetNotificationRequest(
        notification_id=notification_id)).notification).state == State.NOTIFICATION_STATE_SENT else None,
        what="the notification sent")


def state_of(auditor, notification_id: str) -> int:
    return auditor.GetNotification(pb.GetNotificationRequest(notification_id=notification_id)).notification.state


def test_an_sms_receipt_through_the_gateway_is_checked_and_recorded_once(platform, provider):
    public, admin, auditor = platform
    phone = "09" + str(uuid.uuid4().int)[:8]
    sms = sent(admin, auditor, notification_pb2.CHANNEL_SMS, "Ho so {{ma}} da co ket qua.", phone)
    (request,) = provider.requests_for(phone)
    assert request["CallbackUrl"].startswith(f"{public}/v1/notifications/callbacks/esms?")

    receipt = {"SMSID": sms.provider_message_id, "SendStatus": "5", "SendSuccess": "1", "SendFailed": "0",
               "TypeId": "2", "phonenumber": phone}
    callback = f"{public}/v1/notifications/callbacks/esms"
    assert httpx2.get(callback, params={**receipt, "token": "đoán"}, trust_env=False).status_code == 403
    assert state_of(auditor, sms.notification_id) == State.NOTIFICATION_STATE_SENT
    first = httpx2.get(callback, params={**receipt, "token": CALLBACK_TOKEN}, trust_env=False)
    assert first.status_code == 200 and first.json() == {"recorded": True}
    again = httpx2.get(callback, params={**receipt, "token": CALLBACK_TOKEN}, trust_env=False)
    assert again.status_code == 200 and again.json() == {"recorded": False}
    assert state_of(auditor, sms.notification_id) == State.NOTIFICATION_STATE_DELIVERED
    unknown = httpx2.get(callback, params={**receipt, "SMSID": "khong-co", "token": CALLBACK_TOKEN}, trust_env=False)
    assert unknown.status_code == 404  # the provider tries again later


def test_a_zalo_receipt_through_the_gateway_keeps_its_signature_valid(platform):
    public, admin, auditor = platform
    zalo = sent(admin, auditor, notification_pb2.CHANNEL_ZALO, "Hồ sơ {{ma}} đã có kết quả.",
                "09" + str(uuid.uuid4().int)[:8], key="bien_nhan_zalo")
    event = {"app_id": ZALO_APP_ID, "event_name": "user_received_message", "timestamp": "1767225600000",
             "message": {"msg_id": zalo.provider_message_id, "tracking_id": zalo.notification_id,
                         "delivery_time": "1767225600000"}}
    body = json.dumps(event, ensure_ascii=False).encode()
    url = f"{public}/v1/notifications/callbacks/zalo"
    forged = httpx2.post(url, content=body, headers={"X-ZEvent-Signature": "mac=" + "0" * 64}, trust_env=False)
    assert forged.status_code == 403
    signature = zalo_signature(ZALO_APP_ID, body, event["timestamp"], ZALO_SECRET)
    accepted = httpx2.post(url, content=body, headers={"X-ZEvent-Signature": signature,
                                                       "content-type": "application/json"}, trust_env=False)
    assert accepted.status_code == 200 and accepted.json() == {"recorded": True}
    assert state_of(auditor, zalo.notification_id) == State.NOTIFICATION_STATE_DELIVERED
    assert httpx2.post(f"{public}/v1/notifications/callbacks/khac", content=b"{}",
                       trust_env=False).status_code == 404


def test_operators_reach_their_rpcs_over_rest_through_the_gateway(stack, platform):
    public, admin, auditor = platform
    # The province at the top of the tree: its administrators look after notices about no dossier.
    seeded = seed_agencies(stack.identity.addr)
    assert seeded.returncode == 0, seeded.stdout + seeded.stderr
    phone = "09" + str(uuid.uuid4().int)[:8]
    sms = sent(admin, auditor, notification_pb2.CHANNEL_SMS, "Ho so {{ma}} qua han.", phone)
    token = auth.issue(roles=(Role.ROLE_ADMINISTRATOR,), agency_id="000.00.00.H56").access_token
    headers = {"authorization": f"Bearer {token}"}
    health = httpx2.get(f"{public}/v1/notifications:providerHealth", params={"window_minutes": 60},
                        headers=headers, trust_env=False)
    assert health.status_code == 200, health.text
    assert "CHANNEL_SMS" in [p["channel"] for p in health.json()["providers"]]
    request_id = str(uuid.uuid4())

    def resend():  # refused until notifications has heard of the tree; one resend whatever the tries
        answer = httpx2.post(f"{public}/v1/notifications/{sms.notification_id}:resend",
                             json={"request_id": request_id}, headers=headers, trust_env=False)
        return answer if answer.status_code == 200 else None

    resent = eventually(resend, what="the resend through the gateway")
    assert resent.json()["notification"]["notification_id"] != sms.notification_id
    bad = httpx2.get(f"{public}/v1/notifications:search", params={"recipient_account_id": "không-phải-uuid"},
                     headers=headers, trust_env=False)
    assert bad.status_code == 400, bad.text
