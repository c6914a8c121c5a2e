"""The sender wakes when a notification is queued (LISTEN/NOTIFY on the event store's
channel), not at its next poll: with a poll interval of an hour, e-mails queued through either
of two replicas still reach a real SMTP server, and the service still stops promptly."""

from __future__ import annotations

import uuid

import pytest

from motcua.identity.v1.role_pb2 import Role
from motcua.notifications.v1 import notification_pb2, notification_service_pb2 as pb
from tests.support import auth
from tests.support.clients import notifications_stub


@pytest.fixture(scope="module")
def replicas(stack, notifications_db, smtp):
    env = {"POSTGRES_DBNAME": notifications_db, "MOTCUA_SMTP_HOST": "127.0.0.1", "MOTCUA_SMTP_PORT": str(smtp.port),
           "MOTCUA_SMTP_STARTTLS": "false", "MOTCUA_NOTIFY_POLL_INTERVAL": "3600"}
    first = stack.service("notifications", **env).start()
    second = stack.service("notifications", **env).start()
    yield first, second
    # Stopping while the leader waits for news: within the runtime's grace, with exit code 0.
    assert first.terminate() == 0
    assert second.terminate() == 0


def test_emails_queued_through_either_replica_are_sent_without_waiting_for_a_poll(stack, replicas, smtp):
    auth.use_identity(stack.identity.addr)
    token = auth.issue(roles=(Role.ROLE_ADMINISTRATOR,), agency_id="000.00.00.H56").access_token
    stubs = [notifications_stub(replica.addr, token) for replica in replicas]
    template = stubs[0].CreateTemplate(pb.CreateTemplateRequest(
        key=f"danh_thuc_{uuid.uuid4().hex[:8]}", channel=notification_pb2.CHANNEL_EMAIL,
        subject="Hồ sơ {{ma}} đã có kết quả", body="Kính gửi Ông/Bà,\nHồ sơ {{ma}} đã có kết quả.",
    )).template
    for round_ in range(3):
        for n, stub in enumerate(stubs):
            address = f"nguoi.nhan.{round_}.{n}.{uuid.uuid4().hex[:6]}@example.vn"
            stub.SendNotification(pb.SendNotificationRequest(
                template_id=template.template_id, address=address, parameters={"ma": f"H56-{round_}-{n}"}))
            mail = smtp.wait_for(address, timeout=60)
            assert str(mail["Subject"]) == f"Hồ sơ H56-{round_}-{n} đã có kết quả"
