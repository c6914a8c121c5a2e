"""The outbox relay: one leader per service, every event published once, in log order."""

from __future__ import annotations

import uuid

import psycopg
from eventsourcing.persistence import StoredEvent
from google.protobuf import wrappers_pb2
from kafka import KafkaConsumer

from motcua.common.v1 import envelope_pb2
from motcua.kernel.relay import OutboxRelay
from tests.support.waiting import eventually
from tests.support.workers import start

from .conftest import Note


def text_event(event: object):
    return wrappers_pb2.StringValue(value=event.text) if isinstance(event, Note.Written) else None


def read_topic(bootstrap: str, topic: str, expected: int) -> list[tuple[int, envelope_pb2.EventEnvelope]]:
    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", consumer_timeout_ms=3000)
    try:
        envelopes: list[tuple[int, envelope_pb2.EventEnvelope]] = []
        def more() -> bool:
            for record in consumer:
                envelopes.append((record.partition, envelope_pb2.EventEnvelope.FromString(record.value)))
                if len(envelopes) >= expected:
                    break
            return len(envelopes) >= expected
        eventually(more, what=f"{expected} messages on {topic}")
        return envelopes
    finally:
        consumer.close()



def test_only_one_relay_leads_and_the_other_takes_over_where_it_stopped(stack, notes):
    first, second = OutboxRelay(notes, text_event), OutboxRelay(notes, text_event)
    first_thread, stop_first = start(first)
    eventually(lambda: first.is_leader, what="first relay leads")
    second_thread, stop_second = start(second)
    try:
        notes.save(*[Note(text=f"Ghi chú {i}") for i in range(5)])
        eventually(lambda: first.published == 5, what="first relay published")
        assert not second.is_leader and second.published == 0

        stop_first.set()
        first_thread.join(timeout=30)
        eventually(lambda: second.is_leader, what="second relay takes over")
        notes.save(*[Note(text=f"Ghi chú {i}") for i in range(5, 8)])
        eventually(lambda: second.published == 3, what="second relay published the rest")
    finally:
        stop_first.set()
        stop_second.set()
        second_thread.join(timeout=30)

    received = read_topic(stack.kafka.bootstrap, notes.settings.events_topic, 8)
    envelopes = [envelope for _, envelope in received]
    texts = []
    for envelope in envelopes:
        payload = wrappers_pb2.StringValue()
        assert envelope.payload.Unpack(payload)
        texts.append(payload.value)
        assert envelope.type == "google.protobuf.StringValue"
        assert envelope.source == notes.settings.service
        assert envelope.aggregate_version == 1
    assert sorted(texts) == sorted(f"Ghi chú {i}" for i in range(8))  # each once, Vietnamese intact
    assert len({e.event_id for e in envelopes}) == 8
    for partition in {p for p, _ in received}:
        positions = [e.position for p, e in received if p == partition]
        assert positions == sorted(positions) and len(set(positions)) == len(positions)  # log order


def test_an_event_the_relay_cannot_translate_is_dead_lettered_visibly_and_the_relay_goes_on(stack, notes, caplog):
    def translate(event: object):
        if isinstance(event, Note.Written) and event.text == "Hỏng":
            raise ValueError("no integration event for this text")
        return text_event(event)

    relay = OutboxRelay(notes, translate)
    thread, stop = start(relay)
    try:
        notes.save(Note(text="Trước"))
        eventually(lambda: relay.published == 1, what="first event published")
        # An event whose class no longer exists (the mapper cannot decode it), then one the
        # translator refuses, then a good one behind them.
        vanished = StoredEvent(originator_id=uuid.uuid4(), originator_version=1,
                               topic="tests.kernel.vanished:Vanished.Written", state=b"{}")
        notes.recorder.insert_events([vanished])
        notes.save(Note(text="Hỏng"))
        notes.save(Note(text="Sau"))
        eventually(lambda: relay.published == 2 and relay.dead_lettered == 2, what="relay went past both")
    finally:
        stop.set()
        thread.join(timeout=30)

    texts = []
    for _, envelope in read_topic(stack.kafka.bootstrap, notes.settings.events_topic, 2):
        payload = wrappers_pb2.StringValue()
        assert envelope.payload.Unpack(payload)
        texts.append(payload.value)
    assert sorted(texts) == ["Sau", "Trước"]

    with psycopg.connect(stack.dsn(notes.settings.service)) as conn:
        rows = conn.execute(
            "SELECT topic, originator_id, originator_version, event_class, error FROM motcua_relay_deadletter "
            "ORDER BY position"
        ).fetchall()
        (saved_position,) = conn.execute("SELECT position FROM motcua_relay_position").fetchone()
        (last,) = conn.execute(f"SELECT max(notification_id) FROM {notes.name.lower()}_events").fetchone()
    assert saved_position == last  # the position moved past the dead letters
    assert [(r[0], r[1], r[2]) for r in rows] == [
        (notes.settings.events_topic, str(vanished.originator_id), 1),
        (notes.settings.events_topic, rows[1][1], 1),
    ]
    assert rows[0][3] == "tests.kernel.vanished:Vanished.Written"
    assert rows[1][3].endswith("Note.Written") and "no integration event for this text" in rows[1][4]
    logged = [r for r in caplog.records if r.levelname == "ERROR" and "dead-lettered" in r.getMessage()]
    assert len(logged) == 2
