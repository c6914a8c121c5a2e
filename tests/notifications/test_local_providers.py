"""`make run`'s SMS and Zalo: the provider simulator as its own process (the command `make run`
starts), the notifications service configured by the same settings (motcua.devstack.services.
providers_env) and a gateway in front. A message sent on each channel reaches the simulator with
its Vietnamese text intact, is written to its record, and the simulator's receipts (eSMS's
callback, Zalo's signed webhook event) come back through the gateway and mark it delivered."""

from __future__ import annotations

import json
import uuid

import pytest

from motcua.devstack import free_port
from motcua.devstack._proc import spawn, stop_pid
from motcua.devstack.services import provider_simulator_command, providers_env, zalo_template_ids
from motcua.notifications.domain import DEFAULT_TEMPLATES, ZALO
from motcua.notifications.v1 import notification_pb2, notification_service_pb2 as pb
from tests.support.waiting import eventually

from .conftest import province_operators, receipts_gateway

State = notification_pb2.NotificationState
TEST_KEY = "thong_bao_may_cuc_bo"  # a key of this test's own; the defaults' keys are the triggers'


def test_every_default_zalo_text_has_a_template_id():
    ids = zalo_template_ids()
    assert set(ids) == {t.key for t in DEFAULT_TEMPLATES if t.channel == ZALO}
    assert len(set(ids.values())) == len(ids)  # one approved template each


@pytest.fixture(scope="module")
def local(stack, notifications_db, tmp_path_factory):
    http_port, gateway_port, simulator_port = free_port(), free_port(), free_port()
    public = f"http://127.0.0.1:{gateway_port}"
    record = tmp_path_factory.mktemp("providers") / "messages.jsonl"
    simulator = spawn(provider_simulator_command(simulator_port, record, public),
                      stack.logs / f"providers-{simulator_port}.log", new_session=False)
    settings = providers_env(f"http://127.0.0.1:{simulator_port}", public)
    settings["MOTCUA_ZALO_TEMPLATES"] += f",{TEST_KEY}=399999"
    service = stack.service("notifications", POSTGRES_DBNAME=notifications_db,
                            MOTCUA_HTTP_ADDR=f"127.0.0.1:{http_port}", MOTCUA_NOTIFY_POLL_INTERVAL="0.05",
                            MOTCUA_NOTIFY_QUIET_HOURS="off", **settings).start(wait=False)
    service.wait_healthy(timeout=180)
    gateway = receipts_gateway(stack, service, http_port, gateway_port)
    admin, auditor = province_operators(service)
    yield admin, auditor, record
    gateway.terminate()
    assert service.terminate() == 0
    stop_pid(simulator.pid, timeout=10)


def delivered(admin, auditor, channel, key: str, body: str, address: str):
    template = admin.CreateTemplate(pb.CreateTemplateRequest(key=key, channel=channel, subject="", body=body)).template
    notification_id = admin.SendNotification(pb.SendNotificationRequest(
        template_id=template.template_id, address=address,
        parameters={"ma": "000.00.10.H56-261207-0001", "ten": "Nguyễn Thị Hằng"})).notification.notification_id

    def state():
        n = auditor.GetNotification(pb.GetNotificationRequest(notification_id=notification_id)).notification
        assert n.state not in (State.NOTIFICATION_STATE_FAILED, State.NOTIFICATION_STATE_BOUNCED), n
        return n if n.state == State.NOTIFICATION_STATE_DELIVERED else None

    return eventually(state, what="the provider's receipt through the gateway")


def recorded(record, phone: str) -> list[dict]:
    lines = record.read_text(encoding="utf-8").splitlines() if record.exists() else []
    return [line for line in map(json.loads, lines) if line["phone"].endswith(phone[1:])]


def test_sms_and_zalo_reach_the_simulator_and_come_back_delivered(local):
    admin, auditor, record = local
    sms_phone, zalo_phone = ("09" + str(uuid.uuid4().int)[:8] for _ in range(2))
    sms = delivered(admin, auditor, notification_pb2.CHANNEL_SMS, f"sms_{uuid.uuid4().hex[:8]}",
                    "Ho so {{ma}} cua {{ten}} da co ket qua.", sms_phone)
    zalo = delivered(admin, auditor, notification_pb2.CHANNEL_ZALO, TEST_KEY,
                     "Hồ sơ {{ma}} của {{ten}} đã có kết quả.", zalo_phone)
    (sms_line,) = recorded(record, sms_phone)
    assert sms_line["provider"] == "esms" and sms_line["brandname"] == "MOTCUA.DEV"
    # Unaccented, as a brandname SMS without Unicode is sent.
    assert sms_line["text"] == "Ho so 000.00.10.H56-261207-0001 cua Nguyen Thi Hang da co ket qua."
    assert sms_line["message_id"] == sms.provider_message_id
    (zalo_line,) = recorded(record, zalo_phone)
    assert zalo_line["provider"] == "zalo_zns" and zalo_line["template_id"] == "399999"
    assert zalo_line["message_id"] == zalo.provider_message_id
    assert zalo_line["template_data"]["ma"] == "000.00.10.H56-261207-0001"
    assert zalo_line["template_data"]["ten"] == "Nguyễn Thị Hằng"  # the record is UTF-8, not escaped
    assert "Nguyễn Thị Hằng" in record.read_text(encoding="utf-8")
