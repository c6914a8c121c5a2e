"""Kafka clients configured one way for every service."""

from __future__ import annotations

import logging
import time

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

log = logging.getLogger(__name__)

HEADER_EVENT_ID = "motcua-event-id"
HEADER_EVENT_TYPE = "motcua-event-type"


def ensure_topics(bootstrap: str, topics: list[str], partitions: int) -> None:
    """Creates the topics that do not exist yet (every caller agrees on the layout)."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="motcua-admin", request_timeout_ms=10_000)
    try:
        missing = [t for t in topics if t not in set(admin.list_topics())]
        for topic in missing:
            try:
                admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)])
                log.info("created topic", extra={"topic": topic, "partitions": partitions})
            except TopicAlreadyExistsError:
                pass
    finally:
        admin.close()


def new_producer(bootstrap: str, client_id: str) -> KafkaProducer:
    # Idempotent: broker-side de-duplication of retried sends, ordered per partition.
    return KafkaProducer(
        bootstrap_servers=bootstrap,
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        linger_ms=1,
        batch_size=256 * 1024,
        max_in_flight_requests_per_connection=5,
        request_timeout_ms=10_000,
        delivery_timeout_ms=30_000,
        max_block_ms=10_000,
    )


def new_consumer(bootstrap: str, group_id: str, topics: list[str], metadata_timeout: float = 30.0) -> KafkaConsumer:
    # Offsets are committed by hand after the effects are in PostgreSQL.
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=group_id,
        client_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=500,
        fetch_max_wait_ms=100,
        session_timeout_ms=10_000,
        heartbeat_interval_ms=2_000,
    )
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
