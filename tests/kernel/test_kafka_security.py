"""Kafka over TLS with SASL, as production brokers are reached: every client the platform creates
(the relay's producer, a consumer, the admin client that creates topics) takes the same
MOTCUA_KAFKA_* settings; wrong credentials fail with an error that says which connection was
refused; the topics the platform creates carry the configured replication."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from kafka.admin import ConfigResource, ConfigResourceType

from motcua.kernel.config import ConfigError, KafkaSettings
from motcua.kernel.kafka import KafkaUnreachable, ensure_topics, new_admin, new_consumer, new_producer
from tests.support.dossiers import published_full_procedure
from tests.support.secure_kafka import PLAIN_PASSWORD, PLAIN_USER, SCRAM_USER, SecureKafka
from tests.support.waiting import eventually


@pytest.fixture(scope="module")
def secure_kafka(stack) -> Iterator[SecureKafka]:
    broker = SecureKafka(stack.profile)
    broker.start(fresh=True)
    yield broker
    broker.stop()


def _health(addr: str) -> int:
    with grpc.insecure_channel(addr) as channel:
        return health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""), timeout=2).status


def test_services_talk_through_sasl_ssl_procedures_publishes_and_dossiers_consumes(stack, secure_kafka):
    env = {**secure_kafka.client_env(secure_kafka.client_settings()), "MOTCUA_RELAY_IDLE_WAIT": "0.1"}
    procedures = stack.service("procedures", **env).start()
    dossiers = stack.service("dossiers", **env).start()
    try:
        # Published by procedures' relay, consumed into dossiers' replica: both over SASL_SSL.
        replica = published_full_procedure(procedures.addr, dossiers.addr)
        assert replica.name == "Đăng ký khai sinh"
        for service in (procedures, dossiers):
            assert _health(service.addr) == health_pb2.HealthCheckResponse.SERVING
    finally:
        assert procedures.terminate() == 0
        assert dossiers.terminate() == 0


def test_a_topic_the_platform_creates_carries_the_configured_replication(secure_kafka):
    kafka = secure_kafka.client_settings(replication_factor=1, min_insync_replicas=1)
    topic = f"motcua.k{uuid.uuid4().hex[:8]}.events.v1"
    ensure_topics(kafka, [topic], partitions=2)

    admin = new_admin(kafka)
    try:
        [described] = admin.describe_topics([topic])
        assert len(described["partitions"]) == 2
        assert all(len(p["replica_nodes"]) == 1 for p in described["partitions"])
        configs = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)], config_filter="all")
    finally:
        admin.close()
    min_insync = configs["topic"][topic]["min.insync.replicas"]
    # Set on the topic by the platform, not inherited from the broker's default.
    assert (min_insync["value"], min_insync["config_source"]) == ("1", "DYNAMIC_TOPIC_CONFIG")


def test_plain_mechanism_works_too(secure_kafka):
    kafka = secure_kafka.client_settings(mechanism="PLAIN", username=PLAIN_USER, password=PLAIN_PASSWORD)
    topic = f"motcua.k{uuid.uuid4().hex[:8]}.events.v1"
    ensure_topics(kafka, [topic], partitions=1)
    producer = new_producer(kafka, "plain-probe")
    try:
        producer.send(topic, "Hồ sơ đã tiếp nhận".encode()).get(timeout=30)
    finally:
        producer.close()
    consumer = new_consumer(kafka, f"probe-{uuid.uuid4().hex}", [topic])
    try:
        values = eventually(lambda: [r.value for b in consumer.poll(timeout_ms=500).values() for r in b],
                            what="the message read back over PLAIN")
    finally:
        consumer.close()
    assert values == ["Hồ sơ đã tiếp nhận".encode()]


def test_wrong_credentials_fail_with_an_error_naming_the_refused_connection(secure_kafka):
    kafka = secure_kafka.client_settings(password="sai-mật-khẩu")
    with pytest.raises(KafkaUnreachable) as raised:
        new_producer(kafka, "wrong-password")
    message = str(raised.value)
    assert secure_kafka.sasl_bootstrap in message
    assert f"SASL_SSL with SASL SCRAM-SHA-512 as {SCRAM_USER!r}" in message


def test_a_service_with_wrong_credentials_reports_not_serving_and_logs_why(stack, secure_kafka):
    kafka = secure_kafka.client_settings(password="sai-mật-khẩu")
    procedures = stack.service("procedures", **secure_kafka.client_env(kafka),
                               MOTCUA_WORKER_UNHEALTHY_AFTER="1").start(wait=False)
    try:
        eventually(lambda: _health(procedures.addr) == health_pb2.HealthCheckResponse.NOT_SERVING,
                   what="procedures NOT_SERVING while Kafka refuses its credentials")
        log = procedures.log_path.read_text()
        assert "SaslAuthenticationFailedError" in log  # the broker's reason, from the client
        assert f"could not connect to Kafka at {secure_kafka.sasl_bootstrap}" in log
    finally:
        procedures.kill()


# Pure checks of the settings: no broker needed.

def _from_env(**env: str) -> KafkaSettings:
    return KafkaSettings.from_env({"KAFKA_BOOTSTRAP_SERVERS": "kafka:9093", **env})


def test_settings_default_to_plaintext_with_one_replica():
    kafka = _from_env()
    assert (kafka.security_protocol, kafka.replication_factor, kafka.min_insync_replicas) == ("PLAINTEXT", 1, 1)
    assert kafka.client_kwargs() == {"bootstrap_servers": "kafka:9093", "security_protocol": "PLAINTEXT"}


def test_sasl_ssl_settings_become_the_clients_arguments(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("not read here")
    kafka = _from_env(MOTCUA_KAFKA_SECURITY_PROTOCOL="sasl_ssl", MOTCUA_KAFKA_SASL_MECHANISM="scram-sha-256",
                      MOTCUA_KAFKA_SASL_USERNAME="motcua", MOTCUA_KAFKA_SASL_PASSWORD="bí mật",
                      MOTCUA_KAFKA_SSL_CAFILE=str(ca), MOTCUA_KAFKA_REPLICATION_FACTOR="3",
                      MOTCUA_KAFKA_MIN_INSYNC_REPLICAS="2")
    assert kafka.client_kwargs() == {
        "bootstrap_servers": "kafka:9093", "security_protocol": "SASL_SSL", "sasl_mechanism": "SCRAM-SHA-256",
        "sasl_plain_username": "motcua", "sasl_plain_password": "bí mật", "ssl_check_hostname": True,
        "ssl_cafile": str(ca),
    }
    assert kafka.topic_configs() == {"min.insync.replicas": "2"}
    assert "bí mật" not in repr(kafka)


@pytest.mark.parametrize(("env", "names"), [
    ({"MOTCUA_KAFKA_SECURITY_PROTOCOL": "TLS"}, "MOTCUA_KAFKA_SECURITY_PROTOCOL"),
    ({"MOTCUA_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "MOTCUA_KAFKA_SASL_MECHANISM": "GSSAPI",
      "MOTCUA_KAFKA_SASL_USERNAME": "u", "MOTCUA_KAFKA_SASL_PASSWORD": "p"}, "MOTCUA_KAFKA_SASL_MECHANISM"),
    ({"MOTCUA_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "MOTCUA_KAFKA_SASL_MECHANISM": "PLAIN",
      "MOTCUA_KAFKA_SASL_USERNAME": "u"}, "MOTCUA_KAFKA_SASL_PASSWORD"),
    ({"MOTCUA_KAFKA_SASL_USERNAME": "u"}, "MOTCUA_KAFKA_SECURITY_PROTOCOL"),
    ({"MOTCUA_KAFKA_SECURITY_PROTOCOL": "SSL", "MOTCUA_KAFKA_SSL_CAFILE": "/nonexistent/ca.pem"},
     "MOTCUA_KAFKA_SSL_CAFILE"),
    ({"MOTCUA_KAFKA_REPLICATION_FACTOR": "1", "MOTCUA_KAFKA_MIN_INSYNC_REPLICAS": "2"},
     "MOTCUA_KAFKA_MIN_INSYNC_REPLICAS"),
    ({"MOTCUA_KAFKA_REPLICATION_FACTOR": "0"}, "MOTCUA_KAFKA_REPLICATION_FACTOR"),
])
def test_settings_that_cannot_work_are_refused_naming_the_variable(env, names):
    with pytest.raises(ConfigError, match=names):
        _from_env(**env)
