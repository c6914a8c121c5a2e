"""The tracked consumer commits its Kafka offsets at most once per interval, and on stopping."""

from __future__ import annotations

import threading

from google.protobuf import wrappers_pb2
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from motcua.kernel import consumer as consumer_module
from motcua.kernel.config import KafkaSettings
from motcua.kernel.consumer import Subscription, TrackedConsumer
from motcua.kernel.kafka import ensure_topics
from tests.support.waiting import eventually

from .conftest import Note
from .test_consumer import envelope


def _committed(stack, group: str, partition: TopicPartition) -> int:
    # A consumer that never subscribes reads the group's committed offsets without joining it.
    reader = KafkaConsumer(bootstrap_servers=stack.kafka.bootstrap, group_id=group, enable_auto_commit=False)
    try:
        return reader.committed(partition) or 0
    finally:
        reader.close()


def test_offsets_are_committed_once_per_interval_not_per_poll_and_all_of_them_on_stopping(
        stack, notes, service_name, monkeypatch):
    monkeypatch.setattr(consumer_module, "OFFSET_COMMIT_INTERVAL", 3600.0)  # one commit, then none till stop
    upstream = f"motcua.{service_name}-upstream.events.v1"
    ensure_topics(KafkaSettings(bootstrap=stack.kafka.bootstrap), [upstream], partitions=1)
    applied: list[str] = []

    def write_note(payload: wrappers_pb2.StringValue, _envelope) -> list:
        applied.append(payload.value)
        return [Note(text=payload.value)]

    consumer = TrackedConsumer(notes, "notes", [upstream], [Subscription(wrappers_pb2.StringValue, write_note)])
    partition = TopicPartition(upstream, 0)
    producer = KafkaProducer(bootstrap_servers=stack.kafka.bootstrap)
    stop = threading.Event()
    thread = threading.Thread(target=consumer.run, args=(stop,), daemon=True)
    thread.start()
    try:
        producer.send(upstream, key=b"k", value=envelope(1, "một")).get(timeout=30)
        eventually(lambda: applied == ["một"], what="the first message applied")
        eventually(lambda: _committed(stack, consumer.group_id, partition) == 1, what="the first poll's commit")
        for position, text in ((2, "hai"), (3, "ba")):  # later polls, within the interval
            producer.send(upstream, key=b"k", value=envelope(position, text)).get(timeout=30)
            eventually(lambda n=position: len(applied) == n, what=f"message {position} applied")
        assert _committed(stack, consumer.group_id, partition) == 1  # applied, tracked, not yet committed
    finally:
        producer.close()
        stop.set()
        thread.join(timeout=30)
    assert not thread.is_alive()
    assert _committed(stack, consumer.group_id, partition) == 3  # settled records are committed on stopping
    assert notes.tracked_position(f"{upstream}:0") == 3
    assert applied == ["một", "hai", "ba"]
