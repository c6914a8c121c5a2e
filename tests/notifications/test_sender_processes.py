"""Sender processes apart from the API (MOTCUA_NOTIFY_ROLE), against a real SMTP server.

- The attempts a sender starts together are recorded in one transaction.
- Two sender processes side by side never send the same notice twice.
- A sender killed mid-batch: each notice is sent once, except the one whose e-mail the SMTP
  server had taken when the sender died before recording it, which goes out once more when
  its attempt's lease has passed (e-mail is at-least-once there, as with one attempt at a
  time); its log shows the attempt that never ended, then the one that did.
"""

from __future__ import annotations

import uuid
from collections import Counter

import psycopg
import pytest

from motcua.notifications.v1 import notification_service_pb2 as pb
from tests.support.notices import administrator_stub, result_email_template
from tests.support.smtp_sink import SmtpSink
from tests.support.waiting import eventually

from .conftest import mailing_service

LEASE_SECONDS = "3"
ATTEMPT_STARTED = "%:Notification.AttemptStarted"
PROVIDER_ACCEPTED = "%:Notification.ProviderAccepted"


@pytest.fixture(scope="module")
def smtp():
    with SmtpSink(held_after_data={"giu-tra-loi"}) as sink:
        yield sink


@pytest.fixture(scope="module")
def api(stack, database, smtp):
    """The API alone: it queues, never sends."""
    process = mailing_service(stack, database, smtp, MOTCUA_NOTIFY_ROLE="api").start()
    yield process
    process.terminate()


def sender(stack, database, smtp):
    # The held reply outlasts the test rather than time out; a crashed attempt comes back soon.
    return mailing_service(stack, database, smtp, MOTCUA_NOTIFY_ROLE="sender", MOTCUA_SMTP_TIMEOUT="600",
                           MOTCUA_NOTIFY_ATTEMPT_LEASE=LEASE_SECONDS)


@pytest.fixture(scope="module")
def stub(stack, api):
    return administrator_stub(stack.identity.addr, api.addr)


def _queue(stub, template_id: str, addresses: list[str]) -> dict[str, str]:
    """address -> notification id, each queued."""
    ids = {}
    for n, address in enumerate(addresses):
        ids[address] = stub.SendNotification(pb.SendNotificationRequest(
            template_id=template_id, address=address, parameters={"ma": f"H56-{n}"})).notification.notification_id
    return ids


def _events(stack, database: str, topic: str, ids: list[str]) -> list[tuple[str, int, int]]:
    """(notification id, version, transaction id) of the notifications' events of ``topic``."""
    with psycopg.connect(stack.postgres.dsn(database)) as conn:
        rows = conn.execute(
            "SELECT originator_id::text, originator_version, xmin::text::bigint FROM notifications_events "
            "WHERE topic LIKE %s AND originator_id = ANY(%s::uuid[]) ORDER BY originator_id, originator_version",
            (topic, ids)).fetchall()
    return [(row[0], row[1], row[2]) for row in rows]


def test_attempts_started_together_are_recorded_in_one_transaction(stack, database, smtp, stub):
    template_id = result_email_template(stub, "tien_trinh")
    addresses = [f"lo.{n}.{uuid.uuid4().hex[:6]}@example.vn" for n in range(20)]
    ids = _queue(stub, template_id, addresses)
    assert _events(stack, database, ATTEMPT_STARTED, list(ids.values())) == []  # the API sends nothing

    process = sender(stack, database, smtp).start()
    try:
        for n, address in enumerate(addresses):
            assert f"H56-{n}" in smtp.wait_for(address)["Subject"]
        eventually(lambda: len(_events(stack, database, PROVIDER_ACCEPTED, list(ids.values()))) == len(ids),
                   what="every e-mail recorded as sent")
    finally:
        process.terminate()
    started = _events(stack, database, ATTEMPT_STARTED, list(ids.values()))
    accepted = _events(stack, database, PROVIDER_ACCEPTED, list(ids.values()))
    assert sorted(row[0] for row in started) == sorted(ids.values())  # one attempt each
    # Queued before the sender started: all due at its first read, claimed in one commit.
    assert len({row[2] for row in started}) == 1
    assert len({row[2] for row in accepted}) < len(ids)
    assert all(smtp.count_to(address) == 1 for address in addresses)


def test_two_sender_processes_never_send_a_notice_twice(stack, database, smtp, stub):
    template_id = result_email_template(stub, "tien_trinh")
    first, second = sender(stack, database, smtp).start(), sender(stack, database, smtp).start()
    try:
        addresses = [f"hai.{n}.{uuid.uuid4().hex[:6]}@example.vn" for n in range(40)]
        ids = _queue(stub, template_id, addresses)
        for address in addresses:
            smtp.wait_for(address)
        eventually(lambda: len(_events(stack, database, PROVIDER_ACCEPTED, list(ids.values()))) == len(ids),
                   what="every e-mail recorded as sent")
    finally:
        first.terminate()
        second.terminate()
    assert Counter(smtp.count_to(address) for address in addresses) == {1: len(addresses)}
    started = _events(stack, database, ATTEMPT_STARTED, list(ids.values()))
    assert sorted(row[0] for row in started) == sorted(ids.values())


def test_a_sender_killed_mid_batch_sends_again_only_the_email_it_had_not_recorded(stack, database, smtp, stub):
    template_id = result_email_template(stub, "tien_trinh")
    taken = f"giu-tra-loi@{uuid.uuid4().hex[:6]}.example.vn"  # kept by the server, its reply held
    others = [f"con.lai.{n}.{uuid.uuid4().hex[:6]}@example.vn" for n in range(6)]
    ids = _queue(stub, template_id, [taken, *others])

    crashing = sender(stack, database, smtp).start()
    try:
        assert smtp.holding_reply.wait(60), "the held e-mail never reached the server"
        for address in others:
            smtp.wait_for(address)
        eventually(lambda: len(_events(stack, database, PROVIDER_ACCEPTED, [ids[a] for a in others])) == len(others),
                   what="the other e-mails recorded as sent")
    finally:
        crashing.kill()  # SIGKILL: no shutdown, its attempt under way never recorded
    assert smtp.count_to(taken) == 1
    assert _events(stack, database, PROVIDER_ACCEPTED, [ids[taken]]) == []

    smtp.released.set()  # the dead sender's session ends; the next transaction is answered at once
    following = sender(stack, database, smtp).start()
    try:
        eventually(lambda: smtp.count_to(taken) == 2, what="the e-mail sent again after the lease")
        eventually(lambda: _events(stack, database, PROVIDER_ACCEPTED, [ids[taken]]),
                   what="the second attempt recorded as sent")
    finally:
        following.terminate()
    attempts = _events(stack, database, ATTEMPT_STARTED, [ids[taken]])
    assert len(attempts) == 2  # the one the crash cut short, then the one recorded as sent
    ((_, sent_version, _),) = _events(stack, database, PROVIDER_ACCEPTED, [ids[taken]])
    assert sent_version == attempts[1][1] + 1
    assert all(smtp.count_to(address) == 1 for address in others)
