"""Kafka clients configured one way for every service."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import KafkaConnectionError, KafkaTimeoutError, TopicAlreadyExistsError

from .config import KafkaSettings

log = logging.getLogger(__name__)

HEADER_EVENT_ID = "motcua-event-id"
HEADER_EVENT_TYPE = "motcua-event-type"

C = TypeVar("C")


class KafkaUnreachable(KafkaConnectionError):  # type: ignore[misc]  # kafka-python has no types
    """No broker accepted the connection the settings describe. Still a Kafka error (transient:
    the worker retries, the service reports NOT_SERVING meanwhile), with a message that says
    which connection was refused instead of the client's bare "Unable to bootstrap"."""


def _connected(kafka: KafkaSettings, client: str, create: Callable[[], C]) -> C:
    try:
        return create()
    except KafkaTimeoutError as e:
        how = kafka.security_protocol
        if kafka.uses_sasl:
            how += f" with SASL {kafka.sasl_mechanism} as {kafka.sasl_username!r}"
        if kafka.uses_ssl:
            how += f", trusting {kafka.ssl_cafile or 'the system CAs'}"
        raise KafkaUnreachable(
            f"the {client} could not connect to Kafka at {kafka.bootstrap} ({how}): check "
            f"KAFKA_BOOTSTRAP_SERVERS and MOTCUA_KAFKA_*; the broker's reason (e.g. "
            f"SaslAuthenticationFailedError, a certificate error) is logged by the kafka client above") from e


def new_admin(kafka: KafkaSettings, client_id: str = "motcua-admin") -> KafkaAdminClient:
    return _connected(kafka, f"admin client {client_id}",
                      lambda: KafkaAdminClient(**kafka.client_kwargs(), client_id=client_id, request_timeout_ms=10_000))


def ensure_topics(kafka: KafkaSettings, topics: list[str], partitions: int) -> None:
    """Creates the topics that do not exist yet (every caller agrees on the layout), replicated
    as the settings say. A topic that exists is left as it is."""
    admin = new_admin(kafka)
    try:
        missing = [t for t in topics if t not in set(admin.list_topics())]
        for topic in missing:
            try:
                admin.create_topics([NewTopic(topic, num_partitions=partitions,
                                              replication_factor=kafka.replication_factor,
                                              topic_configs=kafka.topic_configs())])
                log.info("created topic", extra={"topic": topic, "partitions": partitions,
                                                 "replication_factor": kafka.replication_factor})
            except TopicAlreadyExistsError:
                pass
    finally:
        admin.close()


def new_producer(kafka: KafkaSettings, client_id: str) -> KafkaProducer:
    # Idempotent: broker-side de-duplication of retried sends, ordered per partition.
    return _connected(kafka, f"producer {client_id}", lambda: KafkaProducer(
        **kafka.client_kwargs(),
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        linger_ms=1,
        batch_size=256 * 1024,
        max_in_flight_requests_per_connection=5,
        request_timeout_ms=10_000,
        delivery_timeout_ms=30_000,
        max_block_ms=10_000,
    ))


def new_consumer(kafka: KafkaSettings, group_id: str, topics: list[str],
                 metadata_timeout: float = 30.0) -> KafkaConsumer:
    # Offsets are committed by hand after the effects are in PostgreSQL.
    consumer = _connected(kafka, f"consumer {group_id}", lambda: KafkaConsumer(
        **kafka.client_kwargs(),
        group_id=group_id,
        client_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=500,
        # How long the broker holds a fetch that finds nothing (a record arriving meanwhile answers
        # it at once, so this delays no delivery). Every empty answer costs the consumer's process
        # a round of its network and polling threads: at 100 ms, ten a second per idle consumer.
        fetch_max_wait_ms=500,
        session_timeout_ms=10_000,
        heartbeat_interval_ms=2_000,
    ))
    # Join the group only once the topics' partitions are known: a member that joins
    # before (e.g. right after creating the topic) can be left with no assignment.
    deadline = time.monotonic() + metadata_timeout
    while any(not consumer.partitions_for_topic(t) for t in topics):
        if time.monotonic() > deadline:
            consumer.close()
            raise TimeoutError(f"no partition metadata for {topics} after {metadata_timeout}s")
        time.sleep(0.1)
    consumer.subscribe(topics)
    return consumer
