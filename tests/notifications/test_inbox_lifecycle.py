"""The inbox stream's life: capped per process, freed on cancel, ended at shutdown, robust
to a lost LISTEN connection; and the inbox read model derived again from the log."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import grpc
import psycopg
import pytest

from motcua.identity.v1.role_pb2 import Role
from motcua.kernel.context import Actor, acting_as
from motcua.kernel.errors import PermissionDenied
from motcua.notifications.application import DossierReceipt, NotificationRequest
from motcua.notifications.domain import IN_APP, template_id
from motcua.notifications.v1 import notification_service_pb2 as pb
from tests.support import auth
from tests.support.clients import notifications_stub
from tests.support.waiting import eventually

from .conftest import InboxReader, local_application

VN = timezone(timedelta(hours=7))


@pytest.fixture
def lone(stack, notifications_db):
    """One notifications process serving at most two streams, with a long drain on SIGTERM."""
    process = stack.service(
        "notifications", POSTGRES_DBNAME=notifications_db, MOTCUA_INBOX_MAX_STREAMS="2", MOTCUA_SHUTDOWN_GRACE="120"
    ).start()
    yield process
    process.terminate()  # leaves the consumer group at once (a killed member would hold its partitions a while)


def open_stream(stub, account_id: str) -> InboxReader:
    return InboxReader(stub.StreamInbox(pb.StreamInboxRequest(account_id=account_id), timeout=300))


def test_streams_are_capped_per_process_and_a_cancelled_stream_frees_its_place(lone):
    stub = notifications_stub(lone.addr)
    first = open_stream(stub, str(uuid.uuid4())).live()
    second = open_stream(stub, str(uuid.uuid4())).live()

    refused = open_stream(stub, str(uuid.uuid4()))
    error = refused.wait_end()
    assert error is not None and error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    # The other RPCs keep their threads.
    stub.ListNotifications(pb.ListNotificationsRequest(recipient_account_id=str(uuid.uuid4())))

    first.cancel()

    def reopened():
        stream = open_stream(stub, str(uuid.uuid4()))
        if stream.is_live():
            return stream
        stream.cancel()
        return None

    third = eventually(reopened, what="a stream accepted once one was cancelled")
    for stream in (second, third):
        stream.cancel()


def test_one_account_holds_a_few_streams_at_most_and_leaves_the_others_for_everybody_else(stack, notifications_db):
    process = stack.service("notifications", POSTGRES_DBNAME=notifications_db, MOTCUA_INBOX_MAX_STREAMS="4",
                            MOTCUA_INBOX_MAX_STREAMS_PER_ACCOUNT="2").start()
    try:
        citizen = auth.issue(roles=(Role.ROLE_APPLICANT,), agency_id="", display_name="Phạm Thị Thu")
        own = notifications_stub(process.addr, citizen.access_token)
        held = [open_stream(own, citizen.account_id).live() for _ in range(2)]

        refused = open_stream(own, citizen.account_id)
        error = refused.wait_end()
        assert error is not None and error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "the most one account may hold (2)" in error.details()

        # Somebody else still gets a stream of this process.
        neighbour = auth.issue(roles=(Role.ROLE_APPLICANT,), agency_id="", display_name="Đỗ Văn Nam")
        theirs = open_stream(notifications_stub(process.addr, neighbour.access_token), neighbour.account_id).live()

        held[0].cancel()

        def reopened():
            stream = open_stream(own, citizen.account_id)
            if stream.is_live():
                return stream
            stream.cancel()
            return None

        again = eventually(reopened, what="the account's stream accepted once one of its own was cancelled")
        for stream in (held[1], theirs, again):
            stream.cancel()
    finally:
        process.terminate()


def test_open_streams_end_with_unavailable_as_soon_as_the_server_shuts_down(lone):
    stub = notifications_stub(lone.addr)
    streams = [open_stream(stub, str(uuid.uuid4())).live() for _ in range(2)]
    # The drain would wait 120 s for open calls: a stream that held it would get the
    # process SIGKILLed after 60 s (exit code -9), and its client CANCELLED, not UNAVAILABLE.
    assert lone.terminate(timeout=60) == 0
    for stream in streams:
        error = stream.wait_end()
        assert error is not None and error.code() == grpc.StatusCode.UNAVAILABLE
        assert "shutting down" in error.details()


def test_a_lost_listener_connection_loses_no_notification(stack, lone, notifications_db, dossier_events):
    stub = notifications_stub(lone.addr)
    applicant = str(uuid.uuid4())
    stream = open_stream(stub, applicant).live()
    try:
        with psycopg.connect(stack.postgres.dsn(notifications_db), autocommit=True) as conn:
            listeners = (
                "SELECT pid FROM pg_stat_activity"
                " WHERE datname = %s AND application_name = 'motcua-notifications-inbox'"
            )
            (pid,) = eventually(
                lambda: conn.execute(listeners, (notifications_db,)).fetchall(), what="the inbox listener"
            )
            conn.execute("SELECT pg_terminate_backend(%s)", pid)
            dossier_events.send(
                dossier_events.received(
                    applicant, datetime(2026, 6, 1, 17, 0, tzinfo=VN), code="000.00.12.H56-260525-0009"
                )
            )
            assert (
                stream.next().body
                == "Hồ sơ 000.00.12.H56-260525-0009 đã được tiếp nhận. Ngày hẹn trả kết quả: 01/06/2026."
            )
            # The hub listens again on a new connection.
            eventually(
                lambda: conn.execute(listeners, (notifications_db,)).fetchall() not in ([], [pid]),
                what="a new listener",
            )
    finally:
        stream.cancel()


@pytest.fixture(scope="module")
def center(stack, database):
    """The application in this process, on a database of its own."""
    center = local_application(stack, database)
    yield center
    center.close()


def test_the_read_model_is_derived_again_from_the_log(stack, center):
    recipient = uuid.uuid4()
    template = center.create_template("bao_tin", IN_APP, "", "Tin số {{so}}")
    with acting_as(Actor(subject="quan-tri-1", roles=("administrator",))):
        sent = [center.send_notification(NotificationRequest(template.template_id, {"so": str(n)}, recipient))
                for n in range(5)]
    owner = Actor(subject=str(recipient), roles=("applicant",))  # the inbox is its owner's to read
    with acting_as(owner):
        center.mark_read(sent[2].notification_id)
        before = center.list_notifications(recipient, None)
    assert [n.body for n in before.notifications] == [f"Tin số {n}" for n in range(4, -1, -1)]
    assert {n.sent_by for n in before.notifications} == {"quan-tri-1"}  # the sender, derived again below too
    assert before.notifications[2].read_time is not None

    with psycopg.connect(stack.postgres.dsn(center.database), autocommit=True) as conn:
        conn.execute("TRUNCATE notifications_inbox")
    with acting_as(owner):
        assert center.list_notifications(recipient, None).notifications == []
    center.prepare()  # finds the table empty beside a log with notifications
    with acting_as(owner):
        assert center.list_notifications(recipient, None) == before
    assert center.recorder.rebuild() == 6  # five created, one read
    with acting_as(owner):
        assert center.list_notifications(recipient, None) == before


def test_the_default_template_is_written_at_start_by_the_service_and_a_dossier_without_account_gets_nothing_in_app(
    center,
):
    template = center.get_template(template_id("dossier_received", IN_APP))
    assert template.version == 1
    assert template.body == "Hồ sơ {{dossier_code}} đã được tiếp nhận. Ngày hẹn trả kết quả: {{appointed_date}}."
    receipt = DossierReceipt(
        event_id=str(uuid.uuid4()),
        dossier_id=uuid.uuid4(),
        code="000.00.12.H56-260105-0001",
        agency_id="000.00.12.H56",
        applicant_account_id=None,
        receive_time=None,
        appointed_return_time=datetime(2026, 1, 12, 17, 0, tzinfo=VN),
    )
    assert center.notify_dossier_received(receipt) == []
    changed = center.notify_dossier_received(replace(receipt, applicant_account_id=uuid.uuid4()))
    # The template exists (written at start): only the notification is new.
    assert [type(a).__name__ for a in changed] == ["Notification"]
    assert changed[0].body.endswith("Ngày hẹn trả kết quả: 12/01/2026.")


def test_the_application_itself_keeps_a_person_s_notifications_to_them_whoever_calls_it(center):
    recipient, stranger = uuid.uuid4(), uuid.uuid4()
    template = center.create_template("tin_rieng", IN_APP, "", "Tin riêng của {{ten}}")
    with acting_as(Actor(subject="quan-tri-2", roles=("administrator",))):
        sent = center.send_notification(NotificationRequest(template.template_id, {"ten": "Hằng"}, recipient))
    with acting_as(Actor(subject=str(stranger), roles=("applicant",))):
        for call in (lambda: center.get_notification(sent.notification_id),
                     lambda: center.mark_read(sent.notification_id),
                     lambda: center.list_notifications(recipient, None),
                     lambda: center.check_inbox_follower(recipient)):
            with pytest.raises(PermissionDenied) as refused:
                call()
            assert refused.value.error_reason == "NOT_OWNER"
    with acting_as(Actor(subject="kiem-toan", roles=("auditor",))):
        assert center.get_notification(sent.notification_id).body == "Tin riêng của Hằng"
        with pytest.raises(PermissionDenied):
            center.mark_read(sent.notification_id)  # auditors read and change nothing
    with acting_as(Actor(subject=str(recipient), roles=("applicant",))):
        assert center.get_notification(sent.notification_id).read_time is None
        assert center.mark_read(sent.notification_id).read_time is not None
