"""Notices queued from dossier events, against real processes (notifications, PostgreSQL, Kafka):
the events a poll brings from one partition queue all their notices in one transaction, and
events delivered again queue nothing twice."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from tests.support.waiting import eventually

from .conftest import mailing_service

EVENTS = 20


@pytest.fixture(scope="module")
def service(stack, database, smtp):
    """Not started: the test starts and stops it around the events it sends."""
    return mailing_service(stack, database, smtp)


def inbox_rows(stack, database: str, dossier_ids: list[str]) -> list[tuple[str, str]]:
    """(dossier id, id of the transaction that wrote the row) of the received-dossier notices."""
    with psycopg.connect(stack.postgres.dsn(database), autocommit=True) as conn:
        return conn.execute(
            "SELECT dossier_id::text, xmin::text FROM notifications_inbox "
            "WHERE template_key = 'dossier_received' AND dossier_id = ANY(%s::uuid[])", (dossier_ids,)).fetchall()


def test_the_events_of_one_poll_queue_their_notices_in_one_transaction(stack, database, service, dossier_events):
    appointed = datetime.now(UTC) + timedelta(days=7)

    def on_one_partition(code: str):
        # One Kafka key for all: one partition, so that a poll brings them together.
        return dataclasses.replace(dossier_events.received(str(uuid.uuid4()), appointed, code=code), key=b"mot-lo")

    # The service catches up with what the topic holds (earlier tests' events), then stops.
    process = service.start()
    first = on_one_partition("000.00.12.H56-260302-0000")
    dossier_events.send(first)
    eventually(lambda: inbox_rows(stack, database, [first.event.dossier_id]), what="the service caught up")
    assert process.terminate() == 0

    events = [on_one_partition(f"000.00.12.H56-260302-{n:04d}") for n in range(1, EVENTS + 1)]
    dossier_ids = [e.event.dossier_id for e in events]
    dossier_events.send(*events)
    process = service.start()
    try:
        rows = eventually(lambda: (found := inbox_rows(stack, database, dossier_ids)) and len(found) == EVENTS
                          and found, what=f"the {EVENTS} notices queued")
        assert sorted(d for d, _ in rows) == sorted(dossier_ids)
        assert len({transaction for _, transaction in rows}) == 1

        # Delivered again (a relay republishing them): recognised by their positions.
        dossier_events.send(*events)
        marker = on_one_partition("000.00.12.H56-260302-9999")
        dossier_events.send(marker)
        eventually(lambda: inbox_rows(stack, database, [marker.event.dossier_id]), what="the notice after them")
        assert len(inbox_rows(stack, database, dossier_ids)) == EVENTS
    finally:
        assert process.terminate() == 0
