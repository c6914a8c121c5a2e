"""A province administrator's notifications client and the e-mail template the sending tests and
the bench queue their notices from."""

from __future__ import annotations

import uuid

from motcua.identity.v1.role_pb2 import Role
from motcua.notifications.v1 import notification_pb2, notification_service_pb2 as pb
from motcua.notifications.v1.notification_service_pb2_grpc import NotificationServiceStub

from . import auth
from .clients import notifications_stub

RESULT_SUBJECT = "Hồ sơ {{ma}} đã có kết quả"
RESULT_BODY = "Kính gửi Ông/Bà,\nHồ sơ {{ma}} đã có kết quả.\nTrân trọng."


def administrator_stub(identity_addr: str, notifications_addr: str) -> NotificationServiceStub:
    """The notifications service as the province's administrator calls it (templates are theirs)."""
    auth.use_identity(identity_addr)
    token = auth.issue(roles=(Role.ROLE_ADMINISTRATOR,), agency_id="000.00.00.H56").access_token
    return notifications_stub(notifications_addr, token)


def result_email_template(stub: NotificationServiceStub, key: str) -> str:
    """A new e-mail template "the dossier {{ma}} has its result" under a fresh key; its id."""
    return stub.CreateTemplate(pb.CreateTemplateRequest(
        key=f"{key}_{uuid.uuid4().hex[:8]}", channel=notification_pb2.CHANNEL_EMAIL,
        subject=RESULT_SUBJECT, body=RESULT_BODY,
    )).template.template_id
