"""PostgreSQL and Kafka outages under running services: nothing valid is dead-lettered or
skipped, pooled connections heal, and the gRPC health says when a worker cannot work.

The copyist (tests/support/copyist.py) appends one event per applied message and is not
idempotent, so a message applied twice, skipped or dead-lettered shows in its copybook.
"""

from __future__ import annotations

import uuid

import grpc
import pytest
from google.protobuf import any_pb2, wrappers_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from kafka import KafkaConsumer, KafkaProducer

from motcua.common.v1 import envelope_pb2
from motcua.dossiers.v1 import dossier_service_pb2 as pb
from motcua.kernel.config import KafkaSettings
from motcua.kernel.kafka import ensure_topics
from motcua.procedures.v1 import procedure_service_pb2 as procedures_pb
from tests.support.auth import AGENCY
from tests.support.clients import dossiers_stub, procedures_stub
from tests.support.copyist import REFUSED_TEXT, CopyistApp
from tests.support.procedures import create_request
from tests.support.topics import find_envelope
from tests.support.waiting import eventually

SERVICE = "copyist"
UPSTREAM = "motcua.copyist-upstream.events.v1"
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def envelope(position: int, text: str) -> bytes:
    payload = any_pb2.Any()
    payload.Pack(wrappers_pb2.StringValue(value=text))
    return envelope_pb2.EventEnvelope(
        event_id=str(uuid.uuid4()), type="google.protobuf.StringValue", aggregate_id=str(uuid.uuid4()),
        aggregate_version=1, source="copyist-upstream", position=position, payload=payload,
    ).SerializeToString()


def publish(bootstrap: str, *messages: tuple[int, str]) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap)
    try:
        for position, text in messages:
            producer.send(UPSTREAM, key=b"upstream", value=envelope(position, text))
        producer.flush()
    finally:
        producer.close()


def health(addr: str, service: str = "") -> int:
    with grpc.insecure_channel(addr) as channel:
        return (
            health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service), timeout=5).status
        )


def dead_letters(bootstrap: str, topic: str) -> list:
    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", consumer_timeout_ms=5000)
    try:
        return list(consumer)
    finally:
        consumer.close()


@pytest.fixture(scope="module")
def copyist_db(stack):
    app = CopyistApp(stack.settings(SERVICE))
    yield app
    app.close()


def test_a_postgresql_outage_under_a_consumer_delays_events_but_applies_each_once_and_dead_letters_none(
    stack, copyist_db
):
    ensure_topics(KafkaSettings(bootstrap=stack.kafka.bootstrap), [UPSTREAM], partitions=1)
    copyist = stack.service(
        SERVICE, module="tests.support.copyist", MOTCUA_TEST_UPSTREAM_TOPIC=UPSTREAM,
        MOTCUA_WORKER_UNHEALTHY_AFTER="1", MOTCUA_CONSUMER_RETRY_MAX_PAUSE="1",
        # eventsourcing's own retries wait this long for each of their attempts: keep the outage
        # short to notice.
        POSTGRES_CONNECT_TIMEOUT="1",
    ).start()
    try:
        publish(stack.kafka.bootstrap, (1, "Một"), (2, REFUSED_TEXT), (3, "Hai"))
        eventually(lambda: copyist_db.copied() == ["Một", "Hai"], what="messages before the outage applied")

        stack.postgres.stop()
        try:
            publish(stack.kafka.bootstrap, (4, "Ba"))
            # The consumer meets the outage on this message and says so through its health.
            eventually(lambda: health(copyist.addr) == NOT_SERVING, timeout=120, what="consumer reported failing")
            assert health(copyist.addr, "liveness") == SERVING  # not a reason to restart the process
            assert health(copyist.addr, "readiness") == SERVING  # nor to take it out of its Service
            publish(stack.kafka.bootstrap, (5, "Bốn"), (6, "Năm"))
        finally:
            stack.postgres.start(fresh=False)
        publish(stack.kafka.bootstrap, (7, "Sáu"))

        eventually(lambda: copyist_db.copied() == ["Một", "Hai", "Ba", "Bốn", "Năm", "Sáu"],
                   timeout=120, what="every message applied after the outage")
        eventually(lambda: health(copyist.addr) == SERVING, what="consumer healthy again")
    finally:
        assert copyist.terminate() == 0

    assert copyist_db.tracked_position(f"{UPSTREAM}:0") == 7
    letters = dead_letters(stack.kafka.bootstrap, copyist_db.settings.deadletter_topic)
    # Only the message the handler refused; none of the outage's.
    assert [envelope_pb2.EventEnvelope.FromString(letter.value).position for letter in letters] == [2]
    assert "refused by the copyist" in dict(letters[0].headers)["motcua-error"].decode()


LISTING = pb.ListDossiersRequest(agency_id=AGENCY, query="nguyen van an")


def test_after_a_postgresql_restart_the_next_call_succeeds_on_fresh_pooled_connections(stack):
    # Every pooled connection of the service goes stale with the restart; checked before use
    # (POSTGRES_PRE_PING, on by default), they are replaced instead of failing the call.
    dossiers = stack.service("dossiers").start()
    try:
        stub = dossiers_stub(dossiers.addr)
        for _ in range(3):
            stub.ListDossiers(LISTING)
        stack.postgres.stop()
        stack.postgres.start(fresh=False)
        assert list(stub.ListDossiers(LISTING).dossiers) == []
    finally:
        assert dossiers.terminate() == 0


def test_while_postgresql_is_down_a_call_answers_unavailable_and_succeeds_once_it_is_back(stack):
    dossiers = stack.service("dossiers", POSTGRES_CONNECT_TIMEOUT="1").start()
    try:
        stub = dossiers_stub(dossiers.addr)
        stub.ListDossiers(LISTING)
        stack.postgres.stop()
        try:
            with pytest.raises(grpc.RpcError) as failure:
                stub.ListDossiers(LISTING)
            # The status clients retry by convention, not INTERNAL.
            assert failure.value.code() == grpc.StatusCode.UNAVAILABLE, failure.value.details()
        finally:
            stack.postgres.start(fresh=False)
        assert list(stub.ListDossiers(LISTING).dossiers) == []
    finally:
        assert dossiers.terminate() == 0


def test_a_relay_that_cannot_reach_kafka_turns_the_health_not_serving_until_it_publishes_again(stack):
    procedures = stack.service("procedures", MOTCUA_WORKER_UNHEALTHY_AFTER="1").start()
    try:
        stub = procedures_stub(procedures.addr)
        stack.kafka.stop()
        try:
            # Commands need only PostgreSQL; the publication is an event for other services.
            created = stub.CreateProcedure(create_request(name="Đăng ký thường trú")).procedure
            stub.PublishProcedure(procedures_pb.PublishProcedureRequest(procedure_id=created.procedure_id))
            eventually(lambda: health(procedures.addr) == NOT_SERVING, timeout=120, what="relay reported failing")
            assert health(procedures.addr, "liveness") == SERVING
            # Still ready: while Kafka is down its outbox keeps accepting commands.
            assert health(procedures.addr, "readiness") == SERVING
            stub.CreateProcedure(create_request(name="Đăng ký tạm trú"))
        finally:
            stack.kafka.start(fresh=False)
        eventually(lambda: health(procedures.addr) == SERVING, timeout=120, what="relay healthy again")
        find_envelope(stack.kafka.bootstrap, "motcua.procedures.events.v1",
                      lambda e: e.aggregate_id == created.procedure_id)
    finally:
        assert procedures.terminate() == 0
