"""A service that exports no spans (no OTLP endpoint, as the benchmark runs them) still passes
the caller's trace on to the Kafka message's headers, as the event's stored trace."""

from __future__ import annotations

from motcua.kernel.config import events_topic
from motcua.procedures.v1 import procedure_service_pb2 as pb
from tests.support.clients import new_traceparent, procedures_stub
from tests.support.procedures import create_request
from tests.support.topics import find_record


def test_without_an_exporter_the_callers_trace_reaches_the_kafka_message(stack):
    service = stack.service("procedures", OTEL_EXPORTER_OTLP_ENDPOINT="").start()
    try:
        procedures = procedures_stub(service.addr)
        created = procedures.CreateProcedure(create_request()).procedure
        traceparent, _ = new_traceparent()
        procedures.PublishProcedure(pb.PublishProcedureRequest(procedure_id=created.procedure_id),
                                    metadata=[("traceparent", traceparent)])
        _, headers = find_record(stack.kafka.bootstrap, events_topic("procedures"), lambda envelope: (
            envelope.aggregate_id == created.procedure_id and envelope.type.endswith("ProcedurePublished")))
    finally:
        assert service.terminate() == 0
    # No span was recorded here: the message names the caller's own span as its parent.
    assert headers["traceparent"].decode() == traceparent
