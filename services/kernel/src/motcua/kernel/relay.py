"""The outbox relay: publishes a service's event log to its Kafka topic.

The application's notification log is the outbox. The relay reads it after
its saved position, maps each domain event to an integration event, publishes
it keyed by aggregate id, and saves the new position only after the broker
acknowledged every message of the batch. A crash of the relay anywhere
republishes at most the last batch (a crash of PostgreSQL itself, the batches of
the last moments: the position is saved without waiting for its WAL flush);
consumers recognise those by position (see ``consumer``).

Exactly one relay per service publishes at a time: the one holding a
PostgreSQL advisory lock on a dedicated connection. It wakes on the NOTIFY
the event store sends at every commit, and polls as a fallback.

A stored event the relay cannot turn into an integration event (its class is
gone, its state does not decode, the translator raises) would otherwise stop
the relay at that position forever, holding back every later event. Such an
event is dead-lettered instead, visibly: an ERROR log line, the
``motcua.relay.dead_lettered`` counter, and a row in ``motcua_relay_deadletter``
(the service's database: topic, position, aggregate, event class, error), written
in the same transaction as the position that passes it; then the relay goes on.
Failures of Kafka or PostgreSQL are not the event's: the batch is retried.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import psycopg
from eventsourcing.persistence import Notification
from eventsourcing.postgres import PostgresApplicationRecorder
from google.protobuf import any_pb2, timestamp_pb2
from google.protobuf.message import Message
from opentelemetry import metrics
from opentelemetry.trace import SpanKind

from motcua.common.v1 import envelope_pb2

from .eventstore import ServiceApplication
from .faults import failpoint
from .kafka import HEADER_EVENT_ID, HEADER_EVENT_TYPE, ensure_topics, new_producer
from .leadership import RELAXED_DURABILITY, SingleLeaderWorker
from .metrics import RELAY_BACKLOG, RELAY_PUBLISH_DURATION, RELAY_PUBLISHED
from .supervision import WorkerHealth
from .tracing import context_from_traceparent, inject_kafka_headers, records_spans, tracer

log = logging.getLogger(__name__)

# Maps a domain event to the integration event other services may see (None: internal only).
Translator = Callable[[Any], Message | None]

EVENT_ID_NAMESPACE = uuid.UUID("6f1d3c1e-6f9b-4b8e-9a57-6d6f74637561")

_POSITION_DDL = """
CREATE TABLE IF NOT EXISTS motcua_relay_position (
    topic text PRIMARY KEY,
    position bigint NOT NULL
)"""

_DEADLETTER_DDL = """
CREATE TABLE IF NOT EXISTS motcua_relay_deadletter (
    topic text NOT NULL,
    position bigint NOT NULL,
    originator_id text NOT NULL,
    originator_version bigint NOT NULL,
    event_class text NOT NULL,
    error text NOT NULL,
    dead_lettered_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (topic, position)
)"""

_dead_letters_counter = metrics.get_meter("motcua.kernel.relay").create_counter(
    "motcua.relay.dead_lettered", unit="{event}", description="Stored events the relay could not translate and skipped"
)


# SHA-1 of the namespace, copied for each id (the version-5 UUID's hash): uuid.uuid5 builds the
# hash and a UUID object anew, several times the cost, for every event relayed.
_EVENT_ID_HASH = hashlib.sha1(EVENT_ID_NAMESPACE.bytes, usedforsecurity=False)


def event_id(aggregate_id: uuid.UUID, version: int) -> str:
    """Stable id of an event: the same on every republish; ``str(uuid.uuid5(EVENT_ID_NAMESPACE,
    f"{aggregate_id}:{version}"))``."""
    sha1 = _EVENT_ID_HASH.copy()
    sha1.update(f"{aggregate_id}:{version}".encode())
    digest = bytearray(sha1.digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class OutboxRelay(SingleLeaderWorker):
    def __init__(self, app: ServiceApplication, translate: Translator) -> None:
        self.app = app
        self.translate = translate
        self.topic = app.settings.events_topic
        self.published = 0
        self.dead_lettered = 0
        super().__init__(app.settings, "relay", f"relay:{self.topic}", WorkerHealth(f"relay {self.topic}"),
                         topic=self.topic)

    def lead(self, conn: psycopg.Connection, stop: threading.Event) -> None:
        conn.execute(_POSITION_DDL)
        conn.execute(_DEADLETTER_DDL)
        conn.execute(RELAXED_DURABILITY)  # a lost position republishes; consumers recognise the copies
        recorder = self.app.recorder
        assert isinstance(recorder, PostgresApplicationRecorder)  # its commits NOTIFY this channel
        ensure_topics(self.settings.kafka, [self.topic], self.settings.topic_partitions)
        producer = new_producer(self.settings.kafka, f"motcua-{self.settings.service}-relay")
        try:
            position = self._load_position(conn)
            log.info("relay leading", extra={"topic": self.topic, "position": position})
            for batch in self.follow_log(conn, recorder, position, self.settings.relay_batch_size,
                                         self.settings.relay_idle_wait, stop):
                if not batch:
                    RELAY_BACKLOG.set(0, {"topic": self.topic})
                    continue
                started = time.perf_counter()
                rejected = self._publish(producer, batch)
                RELAY_PUBLISH_DURATION.record(time.perf_counter() - started, {"topic": self.topic})
                position = batch[-1].id
                failpoint("relay.before_position_save")
                with conn.transaction():
                    self._record_dead_letters(conn, rejected)
                    conn.execute(
                        "INSERT INTO motcua_relay_position (topic, position) VALUES (%s, %s) "
                        "ON CONFLICT (topic) DO UPDATE SET position = EXCLUDED.position",
                        (self.topic, position),
                    )
                self.dead_lettered += len(rejected)
                # A batch that was not full read everything committed when it was read: no query
                # for the log's end then, a round trip per batch that cost as much as the batch.
                backlog = 0
                if len(batch) >= self.settings.relay_batch_size:
                    backlog = max(self.app.recorder.max_notification_id() or 0, position) - position
                RELAY_BACKLOG.set(backlog, {"topic": self.topic})
                self.health.working()
        finally:
            producer.close(timeout=5)

    def _load_position(self, conn: psycopg.Connection) -> int:
        row = conn.execute("SELECT position FROM motcua_relay_position WHERE topic = %s", (self.topic,)).fetchone()
        return row[0] if row else 0

    def _record_dead_letters(self, conn: psycopg.Connection, rejected: list[tuple[Any, str]]) -> None:
        for notification, error in rejected:
            log.error("relay dead-lettered an event it cannot translate", extra={
                "topic": self.topic, "position": notification.id, "aggregate_id": str(notification.originator_id),
                "aggregate_version": notification.originator_version, "event_class": notification.topic, "error": error,
            })
            conn.execute(
                "INSERT INTO motcua_relay_deadletter (topic, position, originator_id, originator_version, "
                "event_class, error) "
                "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (topic, position) DO NOTHING",
                (
                    self.topic,
                    notification.id,
                    str(notification.originator_id),
                    notification.originator_version,
                    notification.topic,
                    error,
                ),
            )
            _dead_letters_counter.add(1, {"messaging.destination.name": self.topic})

    def _publish(self, producer: Any, batch: Sequence[Notification]) -> list[tuple[Any, str]]:
        """Publishes the batch; returns the notifications it could not translate, with why."""
        futures = []
        rejected: list[tuple[Any, str]] = []
        for notification in batch:
            try:
                event, meta = self.app.mapper.decode(notification)
                message = self.translate(event)
                if message is None:
                    continue
                envelope = self._envelope(notification, event, meta, message)
            except Exception as e:  # decoding and translating are pure: the event itself is at fault
                rejected.append((notification, f"{type(e).__name__}: {e}"))
                continue
            parent = context_from_traceparent(meta.get("traceparent"))
            # Without recorded spans the message carries its event's trace as the non-recording
            # span would have passed it on, without making one (a few percent of the relay's CPU).
            span = tracer().start_as_current_span(
                f"{self.topic} publish",
                context=parent,
                kind=SpanKind.PRODUCER,
                attributes={
                    "messaging.system": "kafka",
                    "messaging.destination.name": self.topic,
                    "messaging.message.id": envelope.event_id,
                    "motcua.event.type": envelope.type,
                },
            ) if records_spans() else contextlib.nullcontext()
            with span:
                headers = [
                    (HEADER_EVENT_ID, envelope.event_id.encode()),
                    (HEADER_EVENT_TYPE, envelope.type.encode()),
                ]
                inject_kafka_headers(headers, parent if isinstance(span, contextlib.nullcontext) else None)
                failpoint("relay.before_publish")
                futures.append(
                    producer.send(
                        self.topic,
                        key=str(notification.originator_id).encode(),
                        value=envelope.SerializeToString(),
                        headers=headers,
                    )
                )
        producer.flush(timeout=30)
        for future in futures:
            future.get(timeout=0)  # raises if the broker did not acknowledge
        self.published += len(futures)
        RELAY_PUBLISHED.add(len(futures), {"topic": self.topic})
        return rejected

    def _envelope(
        self, notification: Any, event: Any, meta: dict[str, str], message: Message
    ) -> envelope_pb2.EventEnvelope:
        payload = any_pb2.Any()
        payload.Pack(message, type_url_prefix="type.googleapis.com/")
        occurred_at = timestamp_pb2.Timestamp()
        timestamp = getattr(event, "timestamp", None)
        if timestamp is not None:
            occurred_at.FromDatetime(timestamp)
        return envelope_pb2.EventEnvelope(
            event_id=event_id(notification.originator_id, notification.originator_version),
            type=message.DESCRIPTOR.full_name,
            aggregate_id=str(notification.originator_id),
            aggregate_version=notification.originator_version,
            occurred_at=occurred_at,
            actor=envelope_pb2.Actor(subject=meta.get("actor", ""), agency_id=meta.get("agency_id", "")),
            source=self.settings.service,
            position=notification.id,
            payload=payload,
        )
