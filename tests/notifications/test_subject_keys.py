"""Recipients' personal data in the notifications service (a real process over gRPC,
PostgreSQL, Kafka and a real SMTP server): contact points and the rendered notices are sealed
in the log under the recipient account's key, the SMTP server still gets the clear text, and a
SubjectErased from the dossiers service destroys the key and masks the inbox."""

from __future__ import annotations

import json
import random
import uuid

import psycopg
import pytest

from motcua.devstack import free_port
from motcua.dossiers.v1 import events_pb2 as dossiers_events
from motcua.identity.v1.role_pb2 import Role
from motcua.notifications.v1 import notification_pb2, notification_service_pb2 as pb
from tests.support import auth
from tests.support.clients import notifications_stub
from tests.support.waiting import eventually

MASKED = "[đã xóa]"


@pytest.fixture(scope="module")
def service(stack, database, smtp):
    process = stack.service(
        "notifications", POSTGRES_DBNAME=database, MOTCUA_HTTP_ADDR=f"127.0.0.1:{free_port()}",
        MOTCUA_SMTP_HOST="127.0.0.1", MOTCUA_SMTP_PORT=str(smtp.port), MOTCUA_SMTP_STARTTLS="false",
        MOTCUA_SMTP_FROM="mot-cua@hanam.gov.vn", MOTCUA_NOTIFY_POLL_INTERVAL="0.05", MOTCUA_NOTIFY_QUIET_HOURS="off",
    ).start(timeout=180)
    yield process
    assert process.terminate() == 0


def test_a_recipients_notices_are_sealed_reach_smtp_in_the_clear_and_are_erased_with_them(
        stack, service, database, smtp, dossier_events):
    n = random.randrange(10**6)
    name, email, phone = f"Đặng Thị Bích Ngọc {n:06d}", f"ngoc.{n:06d}@example.vn", f"0913{n:06d}"
    person = auth.issue(roles=(Role.ROLE_APPLICANT,), agency_id="")
    own = notifications_stub(service.addr, person.access_token)
    own.SetContactPoints(pb.SetContactPointsRequest(
        account_id=person.account_id, email=email, phone=phone))
    admin = notifications_stub(service.addr, auth.issue(roles=(Role.ROLE_ADMINISTRATOR,),
                                                        agency_id="000.00.00.H56").access_token)
    template_id = admin.CreateTemplate(pb.CreateTemplateRequest(
        key=f"thong_bao_{uuid.uuid4().hex[:8]}", channel=notification_pb2.CHANNEL_EMAIL,
        subject="Kính gửi {{ten}}", body="Kính gửi ông/bà {{ten}}, hồ sơ của ông/bà đã sẵn sàng.")).template.template_id
    sent = admin.SendNotification(pb.SendNotificationRequest(
        recipient_account_id=person.account_id, template_id=template_id, parameters={"ten": name})).notification

    # The provider gets the clear text at send time…
    mail = smtp.wait_for(email)
    assert mail["Subject"] == f"Kính gửi {name}"
    # …the log holds it sealed under the recipient's key.
    with psycopg.connect(stack.postgres.dsn(database)) as conn:
        states = [bytes(r[0]) for r in conn.execute("SELECT state FROM notifications_events "
                                                    "WHERE topic LIKE '%Notification.Created' "
                                                    "OR topic LIKE '%ContactPoints.%'").fetchall()]
        keys = [r[0] for r in conn.execute("SELECT subject_id FROM notifications_subject_keys").fetchall()]
    assert states and all("_sealed" in json.loads(s) for s in states)
    for secret in (email, phone.removeprefix("0"), name, json.dumps(name)[1:-1]):
        assert not any(secret.encode() in s for s in states), secret
    assert f"account:{person.account_id}" in keys

    # The dossiers service's erasure of this person, as it publishes it (its actor: the officer).
    message = dossier_events._published(dossiers_events.SubjectErased(
        subject_id=f"account:{person.account_id}", account_id=person.account_id, version=2),
        str(uuid.uuid4()), "000.00.00.H56")
    dossier_events.send(message)

    def masked():
        found = own.GetNotification(pb.GetNotificationRequest(notification_id=sent.notification_id)).notification
        return found if found.body == MASKED else None

    erased = eventually(masked, what="the notification masked")
    assert erased.subject == MASKED
    with psycopg.connect(stack.postgres.dsn(database)) as conn:
        inbox = conn.execute("SELECT subject, body FROM notifications_inbox WHERE notification_id = %s",
                             (sent.notification_id,)).fetchone()
        keys = [r[0] for r in conn.execute("SELECT subject_id FROM notifications_subject_keys").fetchall()]
        tombstones = conn.execute("SELECT erased_by FROM notifications_subject_erasures WHERE subject_id = %s",
                                  (f"account:{person.account_id}",)).fetchall()
    assert inbox == (MASKED, MASKED)
    assert f"account:{person.account_id}" not in keys
    assert tombstones == [(message.envelope.actor.subject,)]
