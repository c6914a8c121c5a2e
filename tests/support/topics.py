"""Reading integration events straight from a Kafka topic (for assertions)."""

from __future__ import annotations

import time
from collections.abc import Callable

from kafka import KafkaConsumer, TopicPartition

from motcua.common.v1 import envelope_pb2


def find_envelope(
    bootstrap: str, topic: str, matches: Callable[[envelope_pb2.EventEnvelope], bool], timeout: float = 60.0
) -> envelope_pb2.EventEnvelope:
    """The first envelope on ``topic`` (read from the beginning, outside any group) that matches."""
    return find_record(bootstrap, topic, matches, timeout)[0]


def find_record(
    bootstrap: str, topic: str, matches: Callable[[envelope_pb2.EventEnvelope], bool], timeout: float = 60.0
) -> tuple[envelope_pb2.EventEnvelope, dict[str, bytes]]:
    """The first envelope on ``topic`` that matches, and its message's headers."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, consumer_timeout_ms=1000)
    deadline = time.monotonic() + timeout
    try:
        while not consumer.partitions_for_topic(topic):
            if time.monotonic() > deadline:
                raise AssertionError(f"topic {topic} does not exist after {timeout}s")
            time.sleep(0.2)
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        while time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                for record in records:
                    envelope = envelope_pb2.EventEnvelope.FromString(record.value)
                    if matches(envelope):
                        return envelope, dict(record.headers)
        raise AssertionError(f"no matching event on {topic} within {timeout}s")
    finally:
        consumer.close()
