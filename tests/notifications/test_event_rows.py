"""How the accepting path's events reach the log, against the session's real PostgreSQL with the
application in this process: a batch of stored events is written with one statement of columns
(kernel.readmodel), each event at the position of its place in the batch, its state's bytes as
given, and a batch repeating an event already stored writes nothing of itself."""

from __future__ import annotations

import os
import uuid

import psycopg
import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent

from .conftest import local_application

TOPIC = "tests.notifications:Ghi.Nhận"  # a topic no projection reads: the rows alone


@pytest.fixture(scope="module")
def center(stack, database):
    center = local_application(stack, database)
    yield center
    center.close()


def rows(stack, center, ids: list[uuid.UUID]) -> list[tuple]:
    with psycopg.connect(stack.postgres.dsn(center.database), autocommit=True) as conn:
        return conn.execute(
            f"SELECT notification_id, originator_id, originator_version, topic, state "
            f"FROM {center.recorder.events_table_name} WHERE originator_id = ANY(%s) ORDER BY notification_id",
            (ids,)).fetchall()


def test_a_batch_of_events_is_stored_in_its_order_with_its_bytes_as_given(stack, center):
    ids = [uuid.uuid4() for _ in range(50)]
    # Bytes that are no text (NULs, every byte value), and Vietnamese JSON as the states are.
    states = [bytes(range(256)) + os.urandom(n) + b"\x00" + "Hồ sơ đã tiếp nhận".encode() for n in range(50)]
    events = [StoredEvent(originator_id=i, originator_version=1 + n % 3, topic=TOPIC, state=s)
              for n, (i, s) in enumerate(zip(ids, states, strict=True))]
    positions = center.recorder.insert_events(events)

    stored = rows(stack, center, ids)
    assert [r[0] for r in stored] == list(positions)
    assert list(positions) == sorted(positions) and len(set(positions)) == 50
    assert [(r[1], r[2], r[3], bytes(r[4])) for r in stored] == [
        (e.originator_id, e.originator_version, e.topic, e.state) for e in events]


def test_a_batch_repeating_a_stored_event_writes_none_of_its_events(stack, center):
    first = StoredEvent(originator_id=uuid.uuid4(), originator_version=1, topic=TOPIC, state=b"{}")
    center.recorder.insert_events([first])
    fresh = [StoredEvent(originator_id=uuid.uuid4(), originator_version=1, topic=TOPIC, state=b"{}")
             for _ in range(3)]
    with pytest.raises(IntegrityError):
        center.recorder.insert_events([*fresh[:2], first, fresh[2]])
    assert rows(stack, center, [e.originator_id for e in fresh]) == []
