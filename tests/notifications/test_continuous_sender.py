"""The sender keeps sending while one SMTP transaction is slow: notices queued after a slow one
reach a real SMTP server before it does (the sender hands out notices as threads free up, not a
batch at a time), and the slow one goes out once the server answers."""

from __future__ import annotations

import uuid

import pytest

from motcua.notifications.v1 import notification_service_pb2 as pb
from tests.support.notices import administrator_stub, result_email_template
from tests.support.smtp_sink import SmtpSink

from .conftest import sending_service


@pytest.fixture(scope="module")
def slow_smtp():
    with SmtpSink(held_mailboxes={"cham"}) as sink:
        yield sink


@pytest.fixture(scope="module")
def service(stack, notifications_db, slow_smtp, provider):
    # The slow transaction outlasts the test rather than time out and be retried.
    process = sending_service(stack, notifications_db, slow_smtp, provider, MOTCUA_SMTP_TIMEOUT="600").start()
    yield process
    process.terminate()


def test_notices_queued_after_a_slow_email_are_sent_while_it_waits(stack, service, slow_smtp):
    stub = administrator_stub(stack.identity.addr, service.addr)
    template_id = result_email_template(stub, "lien_tuc")
    slow = f"cham@{uuid.uuid4().hex[:6]}.example.vn"
    stub.SendNotification(pb.SendNotificationRequest(template_id=template_id, address=slow,
                                                     parameters={"ma": "H56-CHAM"}))
    assert slow_smtp.holding.wait(60), "the slow e-mail's transaction never started"

    later = [f"nguoi.nhan.{n}.{uuid.uuid4().hex[:6]}@example.vn" for n in range(3)]
    for n, address in enumerate(later):
        stub.SendNotification(pb.SendNotificationRequest(template_id=template_id, address=address,
                                                         parameters={"ma": f"H56-{n}"}))
    for n, address in enumerate(later):
        assert f"H56-{n}" in slow_smtp.wait_for(address)["Subject"]
    assert slow_smtp.count_to(slow) == 0  # still waiting for the server

    slow_smtp.released.set()
    assert "H56-CHAM" in slow_smtp.wait_for(slow)["Subject"]
