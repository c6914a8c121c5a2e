"""Templates as SendNotification reads them (kept briefly between calls, a bounded cache): a
revision made through this replica renders the very next notification, and a template that
does not exist is NOT_FOUND, against a real notifications service."""

from __future__ import annotations

import uuid

import grpc
import pytest

from motcua.identity.v1.role_pb2 import Role
from motcua.notifications.v1 import notification_pb2, notification_service_pb2 as pb
from tests.support import auth
from tests.support.clients import notifications_stub


@pytest.fixture(scope="module")
def stub(stack, notifications_db):
    process = stack.service("notifications", POSTGRES_DBNAME=notifications_db).start()
    auth.use_identity(stack.identity.addr)
    token = auth.issue(roles=(Role.ROLE_ADMINISTRATOR,), agency_id="000.00.00.H56").access_token
    yield notifications_stub(process.addr, token)
    assert process.terminate() == 0


def test_each_revision_renders_the_next_notification_at_once(stub):
    template = stub.CreateTemplate(pb.CreateTemplateRequest(
        key=f"thong_bao_{uuid.uuid4().hex[:8]}", channel=notification_pb2.CHANNEL_IN_APP,
        subject="Thông báo", body="Lần 1: hồ sơ {{ma}}.",
    )).template
    recipient = str(uuid.uuid4())
    for version in range(1, 5):
        if version > 1:
            template = stub.ReviseTemplate(pb.ReviseTemplateRequest(
                template_id=template.template_id, subject="Thông báo", body=f"Lần {version}: hồ sơ {{{{ma}}}}.",
                expected_version=template.version,
            )).template
        for _ in range(2):  # the second from what the first read
            sent = stub.SendNotification(pb.SendNotificationRequest(
                template_id=template.template_id, recipient_account_id=recipient, parameters={"ma": "H56-ĐẠT"},
            )).notification
            assert (sent.body, sent.template_version) == (f"Lần {version}: hồ sơ H56-ĐẠT.", version)


def test_an_unknown_template_is_not_found(stub):
    with pytest.raises(grpc.RpcError) as failure:
        stub.SendNotification(pb.SendNotificationRequest(
            template_id=str(uuid.uuid4()), recipient_account_id=str(uuid.uuid4()), parameters={"ma": "X"}))
    assert failure.value.code() == grpc.StatusCode.NOT_FOUND
