"""A service that exports no spans (no OTLP endpoint, as the benchmark runs them) still passes
the caller's trace on: into the stored event and the Kafka message's headers."""

from __future__ import annotations

import time

from kafka import KafkaConsumer, TopicPartition

from motcua.common.v1 import envelope_pb2
from motcua.kernel.config import events_topic
from motcua.procedures.v1 import procedure_service_pb2 as pb
from tests.support.clients import new_traceparent, procedures_stub
from tests.support.procedures import create_request


def headers_of_event(bootstrap: str, topic: str, aggregate_id: str, type_suffix: str,
                     timeout: float = 60.0) -> dict[str, bytes]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    deadline = time.monotonic() + timeout
    try:
        while not consumer.partitions_for_topic(topic):
            assert time.monotonic() < deadline, f"no topic {topic}"
            time.sleep(0.2)
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        while time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                for record in records:
                    envelope = envelope_pb2.EventEnvelope.FromString(record.value)
                    if envelope.aggregate_id == aggregate_id and envelope.type.endswith(type_suffix):
                        return dict(record.headers)
        raise AssertionError(f"no {type_suffix} of {aggregate_id} on {topic}")
    finally:
        consumer.close()


def test_without_an_exporter_the_callers_trace_reaches_the_kafka_message(stack):
    service = stack.service("procedures", OTEL_EXPORTER_OTLP_ENDPOINT="").start()
    try:
        procedures = procedures_stub(service.addr)
        created = procedures.CreateProcedure(create_request()).procedure
        traceparent, _ = new_traceparent()
        procedures.PublishProcedure(pb.PublishProcedureRequest(procedure_id=created.procedure_id),
                                    metadata=[("traceparent", traceparent)])
        headers = headers_of_event(stack.kafka.bootstrap, events_topic("procedures"), created.procedure_id,
                                   "ProcedurePublished")
    finally:
        assert service.terminate() == 0
    # No span was recorded here: the message names the caller's own span as its parent.
    assert headers["traceparent"].decode() == traceparent
