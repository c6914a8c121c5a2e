"""The outbox relay: one leader per service, every event published once, in log order."""

from __future__ import annotations

import threading

from kafka import KafkaConsumer
from google.protobuf import wrappers_pb2

from motcua.common.v1 import envelope_pb2
from motcua.kernel.relay import OutboxRelay
from tests.support.waiting import eventually

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


def start(relay: OutboxRelay) -> tuple[threading.Thread, threading.Event]:
    stop = threading.Event()
    thread = threading.Thread(target=relay.run, args=(stop,), daemon=True)
    thread.start()
    return thread, stop


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
