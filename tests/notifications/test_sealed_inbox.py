"""The inbox read model holds no notice's text in the clear (a real notifications process over
gRPC, PostgreSQL and Kafka): each row's subject and body are sealed under the recipient's key
and opened as the inbox is read, so the inbox, a notification and the live stream show them in
the clear; once the recipient is erased they read "[đã xóa]", and so does a rebuilt inbox."""

from __future__ import annotations

import random
import uuid

import psycopg

from motcua.devstack import free_port
from motcua.dossiers.v1 import events_pb2 as dossiers_events
from motcua.identity.v1.role_pb2 import Role
from motcua.notifications.v1 import notification_pb2, notification_service_pb2 as pb
from tests.support import auth
from tests.support.clients import notifications_stub
from tests.support.waiting import eventually

from .conftest import InboxReader

MASKED = "[đã xóa]"


def start(stack, database):
    return stack.service("notifications", POSTGRES_DBNAME=database, MOTCUA_HTTP_ADDR=f"127.0.0.1:{free_port()}",
                         MOTCUA_NOTIFY_QUIET_HOURS="off").start(timeout=180)


def inbox_rows(stack, database: str, account_id: str) -> list[tuple]:
    with psycopg.connect(stack.postgres.dsn(database)) as conn:
        return conn.execute("SELECT subject, body FROM notifications_inbox WHERE recipient_account_id = %s",
                            (account_id,)).fetchall()


def test_the_inbox_keeps_the_text_sealed_and_shows_it_masked_once_the_recipient_is_erased(
        stack, database, dossier_events):
    service = start(stack, database)
    n = random.randrange(10**6)
    name = f"Phạm Thị Thu Hường {n:06d}"
    person = auth.issue(roles=(Role.ROLE_APPLICANT,), agency_id="")
    own = notifications_stub(service.addr, person.access_token)
    admin = notifications_stub(service.addr, auth.issue(roles=(Role.ROLE_ADMINISTRATOR,),
                                                        agency_id="000.00.00.H56").access_token)
    template_id = admin.CreateTemplate(pb.CreateTemplateRequest(
        key=f"hop_thu_{uuid.uuid4().hex[:8]}", channel=notification_pb2.CHANNEL_IN_APP,
        subject="Kính gửi {{ten}}", body="Ông/bà {{ten}} có kết quả hồ sơ.")).template.template_id
    stream = InboxReader(own.StreamInbox(pb.StreamInboxRequest(account_id=person.account_id))).live()
    sent = admin.SendNotification(pb.SendNotificationRequest(
        recipient_account_id=person.account_id, template_id=template_id, parameters={"ten": name})).notification

    # Read in the clear: the list, the notification, the live stream.
    listed = own.ListNotifications(pb.ListNotificationsRequest(recipient_account_id=person.account_id)).notifications
    assert [(x.subject, x.body) for x in listed] == [(f"Kính gửi {name}", f"Ông/bà {name} có kết quả hồ sơ.")]
    streamed = stream.next()
    stream.cancel()
    assert streamed.body == f"Ông/bà {name} có kết quả hồ sơ."
    # Kept sealed: the inbox table holds neither the name nor the text.
    rows = inbox_rows(stack, database, person.account_id)
    assert len(rows) == 1 and not any(name in repr(row) or "kết quả" in repr(row) for row in rows)

    # Erased: the key is gone, the inbox reads masked.
    dossier_events.send(dossier_events._published(dossiers_events.SubjectErased(
        subject_id=f"account:{person.account_id}", account_id=person.account_id, version=2),
        str(uuid.uuid4()), "000.00.00.H56"))

    def masked():
        rows = own.ListNotifications(pb.ListNotificationsRequest(recipient_account_id=person.account_id))
        return rows.notifications if rows.notifications[0].body == MASKED else None

    assert eventually(masked, what="the inbox masked")[0].subject == MASKED
    assert service.terminate() == 0

    # Rebuilt from the log (the table emptied), the inbox still reads masked.
    with psycopg.connect(stack.postgres.dsn(database)) as conn:
        conn.execute("TRUNCATE notifications_inbox")
    service = start(stack, database)
    try:
        again = notifications_stub(service.addr, person.access_token).ListNotifications(
            pb.ListNotificationsRequest(recipient_account_id=person.account_id)).notifications
        assert [(x.notification_id, x.subject, x.body) for x in again] == [(sent.notification_id, MASKED, MASKED)]
    finally:
        assert service.terminate() == 0
