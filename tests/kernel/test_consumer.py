"""The tracked consumer: exactly-once effects, dead letters for what cannot be applied."""

from __future__ import annotations

import threading
import uuid

from eventsourcing.domain import event
from google.protobuf import any_pb2, wrappers_pb2
from kafka import KafkaConsumer, KafkaProducer

from motcua.common.v1 import envelope_pb2
from motcua.kernel.config import KafkaSettings
from motcua.kernel.consumer import Subscription, TrackedConsumer
from motcua.kernel.errors import InvalidArgument
from motcua.kernel.kafka import ensure_topics
from tests.support.waiting import eventually

from .conftest import Note


def envelope(position: int, text: str) -> bytes:
    payload = any_pb2.Any()
    payload.Pack(wrappers_pb2.StringValue(value=text))
    return envelope_pb2.EventEnvelope(
        event_id=str(uuid.uuid4()),
        type="google.protobuf.StringValue",
        aggregate_id=str(uuid.uuid4()),
        aggregate_version=1,
        source="upstream",
        position=position,
        payload=payload,
    ).SerializeToString()


def consumed(notes, upstream: str, handler, done, what: str) -> TrackedConsumer:
    """A consumer of ``upstream`` applying ``handler``, run until ``done(consumer)``, then
    stopped."""
    consumer = TrackedConsumer(notes, "notes", [upstream], [Subscription(wrappers_pb2.StringValue, handler)])
    stop = threading.Event()
    thread = threading.Thread(target=consumer.run, args=(stop,), daemon=True)
    thread.start()
    try:
        eventually(lambda: done(consumer), what=what)
    finally:
        stop.set()
        thread.join(timeout=30)
    return consumer


def test_poison_messages_go_to_the_dead_letter_topic_and_the_rest_is_applied_once(stack, notes, service_name) -> None:
    upstream = f"motcua.{service_name}-upstream.events.v1"
    ensure_topics(KafkaSettings(bootstrap=stack.kafka.bootstrap), [upstream], partitions=1)
    applied: list[str] = []

    def write_note(payload: wrappers_pb2.StringValue, _envelope) -> list:
        if payload.value == "độc":
            raise InvalidArgument.field("text", "poisonous")
        applied.append(payload.value)
        return [Note(text=payload.value)]

    producer = KafkaProducer(bootstrap_servers=stack.kafka.bootstrap)
    for message in [
        envelope(1, "một"),
        envelope(2, "độc"),
        b"\xff not a protobuf envelope",
        envelope(3, "hai"),
        envelope(1, "một"),  # a redelivered duplicate
        envelope(4, "ba"),
    ]:
        producer.send(upstream, key=b"k", value=message)
    producer.flush()
    producer.close()

    consumed(notes, upstream, write_note, lambda c: c.applied == 3 and c.dead_lettered == 2, "all messages handled")

    assert applied == ["một", "hai", "ba"]
    assert notes.tracked_position(f"{upstream}:0") == 4

    dead = KafkaConsumer(
        notes.settings.deadletter_topic, bootstrap_servers=stack.kafka.bootstrap,
        auto_offset_reset="earliest", consumer_timeout_ms=5000,
    )
    try:
        letters = list(dead)
    finally:
        dead.close()
    assert len(letters) == 2
    errors = [dict(letter.headers)["motcua-error"].decode() for letter in letters]
    assert "poisonous" in errors[0]
    assert "undecodable" in errors[1]
    assert {dict(letter.headers)["motcua-source-offset"] for letter in letters} == {b"1", b"2"}


class Tally(Note):
    @event("Counted")
    def count(self, text: str) -> None:
        self.text += text


def test_a_backlog_is_applied_in_shared_transactions_each_event_seeing_the_ones_before(stack, notes, service_name):
    upstream = f"motcua.{service_name}-upstream.events.v1"
    ensure_topics(KafkaSettings(bootstrap=stack.kafka.bootstrap), [upstream], partitions=1)
    tally = Tally(text="")
    notes.save(tally)

    def count(payload: wrappers_pb2.StringValue, _envelope) -> list:
        counted = notes.repository.get(tally.id)  # must see this batch's earlier, unsaved counts
        counted.count(payload.value)
        return [counted]

    producer = KafkaProducer(bootstrap_servers=stack.kafka.bootstrap)
    # 1..40, with 21..30 published a second time in between (a relay restarted before
    # saving its position republishes its last batch): copies must change nothing.
    for position in [*range(1, 31), *range(21, 41)]:
        producer.send(upstream, key=b"k", value=envelope(position, "đ"))
    producer.flush()
    producer.close()

    consumer = consumed(notes, upstream, count, lambda c: c.applied == 40, "all messages applied")

    counted = notes.repository.get(tally.id)
    assert counted.text == "đ" * 40
    assert counted.version == 41
    assert consumer.applied_together > 0  # the backlog went through the batched path
    assert notes.tracked_position(f"{upstream}:0") == 40


def test_events_applied_together_each_keep_the_trace_of_the_message_that_caused_them(stack, notes, service_name):
    upstream = f"motcua.{service_name}-upstream.events.v1"
    ensure_topics(KafkaSettings(bootstrap=stack.kafka.bootstrap), [upstream], partitions=1)
    tally = Tally(text="")
    notes.save(tally)
    created: dict[str, uuid.UUID] = {}

    def write(payload: wrappers_pb2.StringValue, _envelope) -> list:
        note = Note(text=payload.value)  # a new aggregate per message
        created[payload.value] = note.id
        counted = notes.repository.get(tally.id)  # and one aggregate changed by every message
        counted.count(payload.value)
        return [note, counted]

    traces = {f"tin {i}": uuid.uuid4().hex for i in range(1, 31)}  # a trace of its own per message
    producer = KafkaProducer(bootstrap_servers=stack.kafka.bootstrap)
    for position, (text, trace_id) in enumerate(traces.items(), start=1):
        producer.send(upstream, key=b"k", value=envelope(position, text),
                      headers=[("traceparent", f"00-{trace_id}-{uuid.uuid4().hex[:16]}-01".encode())])
    producer.flush()
    producer.close()

    consumer = consumed(notes, upstream, write, lambda c: c.applied == 30, "all messages applied")
    assert consumer.applied_together > 0  # some went through the batched path

    def trace_ids(aggregate_id: uuid.UUID) -> list[str]:
        stored = notes.recorder.select_events(aggregate_id)
        return [(notes.mapper.decode(s)[1].get("traceparent") or "-").split("-")[1] for s in stored]

    for text, trace_id in traces.items():
        assert trace_ids(created[text]) == [trace_id], text
    # The shared aggregate's counts, version 2 onwards, each in its own message's trace.
    assert trace_ids(tally.id)[1:] == list(traces.values())
