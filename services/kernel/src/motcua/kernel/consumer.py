"""The tracked consumer: applies other services' integration events exactly once in effect.

Each handled event's effects and its position are recorded in one PostgreSQL
transaction (``ServiceApplication.record_processed``). The position is tracked
per Kafka (topic, partition) and is the upstream log position carried in the
envelope: it increases along a partition, and unlike a Kafka offset it stays the
same when the relay republishes a batch after a crash. So a message delivered
again, by Kafka or by the relay, is recognised and changes nothing.

The records of one poll for a partition are applied together: each policy
sees the changes of the events before it (read-your-writes within the batch),
and all effects plus the last position commit in one transaction. If anything
in a batch fails, nothing of it is saved and its records are applied one by
one instead, so a single bad message is isolated.

Kafka offsets are committed after the database transaction, only to spare
rework after a restart: at most every ``OFFSET_COMMIT_INTERVAL`` seconds, not
after every poll (a synchronous round trip to the broker before the next poll,
and a write on its side, for every few records under a steady trickle). What a
crash or a rebalance leaves uncommitted is delivered again and recognised by
its position. A message the handler rejects (undecodable, or refused
by a domain rule) goes to the service's dead-letter topic with the error, and
its position is recorded. An unavailable dependency (PostgreSQL, Kafka, another
service: see ``transient``) is never the message's fault: the message is retried
with a capped exponential backoff until it is applied, never dead-lettered and
never skipped, and the worker reports itself failing meanwhile (gRPC health). An
unexpected error of the policy itself (a bug) is retried
``MOTCUA_CONSUMER_MAX_ATTEMPTS`` times and then dead-lettered, so one message
cannot hold up every later one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError, Tracking
from google.protobuf.message import DecodeError, Message
from opentelemetry.trace import Link, SpanKind

from motcua.common.v1 import envelope_pb2

from .context import Actor, acting_as
from .errors import DomainError, VersionConflict
from .eventstore import ServiceApplication
from .faults import failpoint
from .kafka import ensure_topics, new_consumer, new_producer
from .metrics import CONSUMER_APPLIED, CONSUMER_DEAD_LETTERED, CONSUMER_LAG
from .supervision import WorkerHealth, keep_running
from .tracing import context_from_kafka_headers, tracer
from .transient import is_transient

log = logging.getLogger(__name__)

# A policy turns one integration event into commands on this service's aggregates
# and returns the aggregates with pending events (saved with the position).
Policy = Callable[[Any, envelope_pb2.EventEnvelope], Sequence[Any]]


@dataclass(frozen=True)
class Subscription:
    """Which payload type a policy handles; ``reads``, when given, names the aggregates the
    policy will read for an event: a batch's are read in one query
    (``ServiceApplication.preload``)."""

    message_type: type[Message]
    policy: Policy
    reads: Callable[[Any, envelope_pb2.EventEnvelope], Iterable[UUID]] | None = None


OFFSET_COMMIT_INTERVAL = 1.0  # seconds: at most one commit of the consumed offsets per interval
_RETRY_FIRST_PAUSE = 0.2  # seconds before the first retry after a transient error; doubles up to the setting


class PoisonMessage(Exception):
    """The message can never be processed (undecodable, or rejected by a domain rule)."""


class TrackedConsumer:
    def __init__(
        self, app: ServiceApplication, name: str, topics: list[str], subscriptions: list[Subscription]
    ) -> None:
        self.app = app
        self.settings = app.settings
        self.name = name
        self.topics = topics
        self.group_id = f"motcua.{self.settings.service}.{name}"
        self.policies = {s.message_type.DESCRIPTOR.full_name: s for s in subscriptions}
        self.actor = Actor.system(self.settings.service)
        self.applied = 0
        self.applied_together = 0  # of which in shared transactions
        self.dead_lettered = 0
        self._positions: dict[str, int] = {}
        self._dlq_producer: Any = None
        self.health = WorkerHealth(f"consumer {self.group_id}")

    def run(self, stop: threading.Event) -> None:
        keep_running(stop, self._consume, "consumer", health=self.health, group=self.group_id)
        if self._dlq_producer is not None:
            self._dlq_producer.close(timeout=5)

    def _consume(self, stop: threading.Event) -> None:
        ensure_topics(
            self.settings.kafka,
            [*self.topics, self.settings.deadletter_topic],
            self.settings.topic_partitions,
        )
        consumer = new_consumer(self.settings.kafka, self.group_id, self.topics)
        self._positions.clear()  # partitions may have moved to or from another replica
        uncommitted, committed_at = False, float("-inf")
        try:
            while not stop.is_set():
                batches = consumer.poll(timeout_ms=200)
                for records in batches.values():
                    if not self._apply_together(records):
                        for record in records:
                            if not self._handle(record, stop):
                                return  # stopping before it was applied: its offset stays uncommitted
                # Every record polled so far is settled: the consumed offsets may be committed.
                uncommitted = uncommitted or bool(batches)
                if uncommitted and time.monotonic() - committed_at >= OFFSET_COMMIT_INTERVAL:
                    failpoint("consumer.before_offset_commit")
                    consumer.commit()
                    uncommitted, committed_at = False, time.monotonic()
                try:
                    self._measure_lag(consumer)
                except Exception as e:  # a measurement never stops the consuming
                    log.debug("consumer lag not measured", extra={"error": f"{type(e).__name__}: {e}"})
                self.health.working()
            if uncommitted:  # stopping with every polled record settled
                consumer.commit()
        finally:
            consumer.close(autocommit=False)

    def _apply_together(self, records: list[Any]) -> bool:
        """Applies one partition's records in one transaction; False: apply them one by one."""
        upstream = f"{records[0].topic}:{records[0].partition}"
        highest = self._position(upstream)
        deliveries = []
        for record in records:
            try:
                envelope = envelope_pb2.EventEnvelope.FromString(record.value)
            except DecodeError:
                return False
            subscription = self.policies.get(envelope.type)
            # Positions rise along a partition; one that does not is a redelivery or a
            # republished copy, possibly of a message earlier in this very batch.
            if subscription is not None and envelope.position > highest:
                deliveries.append((record, envelope, subscription))
                highest = envelope.position
        if len(deliveries) < 2:
            return False
        message_spans = []
        try:
            with self.app.batch_of_changes() as changed, acting_as(self.actor):
                self.app.preload(self._reads(deliveries))
                for record, envelope, subscription in deliveries:
                    with self._span(record, envelope) as span:
                        aggregates = self._run_policy(envelope, subscription)
                        for aggregate in aggregates:
                            changed[aggregate.id] = aggregate
                        self.app.trace_pending_events(aggregates)
                    message_spans.append(span.get_span_context())
                # The batch's commit sits in the trace of its newest message (the others are
                # linked), so that a command's trace shows its effect committed when its event
                # came last in a batch.
                with tracer().start_as_current_span(
                    f"{records[0].topic} process batch",
                    context=context_from_kafka_headers(deliveries[-1][0].headers),
                    kind=SpanKind.CONSUMER,
                    links=[Link(context) for context in message_spans],
                    attributes={"messaging.batch.message_count": len(deliveries)},
                ):
                    last = deliveries[-1][1].position
                    self.app.record_processed(Tracking(upstream, last), *changed.values())
        except Exception as e:
            log.info("batch not applied together; applying one by one", extra={"error": f"{type(e).__name__}: {e}"})
            self._positions.pop(upstream, None)
            return False
        self._positions[upstream] = last
        self.applied += len(deliveries)
        self.applied_together += len(deliveries)
        CONSUMER_APPLIED.add(len(deliveries), {"group": self.group_id, "topic": records[0].topic})
        return True

    def _handle(self, record: Any, stop: threading.Event) -> bool:
        """Applies, skips (already applied, not subscribed) or dead-letters one record;
        False only when stopping before it was settled."""
        upstream = f"{record.topic}:{record.partition}"
        try:
            envelope = envelope_pb2.EventEnvelope.FromString(record.value)
        except DecodeError as e:
            self._dead_letter(record, upstream, None, f"undecodable envelope: {e}")
            return True
        subscription = self.policies.get(envelope.type)
        failures = 0  # of the policy itself, not of the infrastructure
        pause = _RETRY_FIRST_PAUSE
        while not stop.is_set():
            try:
                if envelope.position <= self._position(upstream):
                    return True  # already applied: a redelivery or a republished batch
                if subscription is None:
                    return True  # not an event this consumer cares about; the next tracked one moves the position
                self._apply(record, upstream, envelope, subscription)
                return True
            except (IntegrityError, VersionConflict) as e:
                # Another replica recorded this position or changed the same aggregate first:
                # re-read the position (it may be applied now) and try again. One that keeps
                # conflicting (a policy creating an aggregate that exists) counts as a failure.
                self._positions.pop(upstream, None)
                failures += 1
                log.info("concurrent write; retrying", extra={"event_type": envelope.type, "error": str(e)})
                if failures >= self.settings.consumer_max_attempts:
                    if envelope.position <= self._position(upstream):
                        return True
                    self._dead_letter(record, upstream, envelope, f"concurrent write: {e}")
                    return True
                stop.wait(0.05 * failures)
            except (PoisonMessage, DomainError) as e:
                self._dead_letter(record, upstream, envelope, f"{type(e).__name__}: {e}")
                return True
            except Exception as e:
                self._positions.pop(upstream, None)
                if is_transient(e):
                    # The message is fine, a dependency is not: wait for it, never skip the message.
                    self.health.failing(e)
                    log.warning("dependency unavailable; retrying", extra={
                        "event_type": envelope.type, "error": f"{type(e).__name__}: {e}", "retry_in_s": pause})
                    stop.wait(pause)
                    pause = min(pause * 2, self.settings.consumer_retry_max_pause)
                    continue
                failures += 1
                log.exception("policy failed", extra={"event_type": envelope.type, "attempt": failures})
                if failures >= self.settings.consumer_max_attempts:
                    self._dead_letter(record, upstream, envelope, f"{type(e).__name__}: {e}")
                    return True
                stop.wait(0.05 * failures)
        return False

    def _apply(
        self, record: Any, upstream: str, envelope: envelope_pb2.EventEnvelope, subscription: Subscription
    ) -> None:
        with self._span(record, envelope), acting_as(self.actor):
            aggregates = self._run_policy(envelope, subscription)
            self.app.record_processed(Tracking(upstream, envelope.position), *aggregates)
        self._positions[upstream] = envelope.position
        self.applied += 1
        CONSUMER_APPLIED.add(1, {"group": self.group_id, "topic": record.topic})
        self.health.working()

    def _reads(self, deliveries: list[tuple[Any, envelope_pb2.EventEnvelope, Subscription]]) -> list[UUID]:
        """The aggregates the batch's policies will read, as their subscriptions name them."""
        ids: list[UUID] = []
        for _, envelope, subscription in deliveries:
            if subscription.reads is not None:
                payload = subscription.message_type()
                if envelope.payload.Unpack(payload):
                    ids.extend(subscription.reads(payload, envelope))
        return ids

    def _run_policy(self, envelope: envelope_pb2.EventEnvelope, subscription: Subscription) -> Sequence[Any]:
        payload = subscription.message_type()
        if not envelope.payload.Unpack(payload):
            raise PoisonMessage(f"payload is not a {envelope.type}")
        return subscription.policy(payload, envelope)

    def _span(self, record: Any, envelope: envelope_pb2.EventEnvelope) -> Any:
        """A consumer span in the producer's trace."""
        return tracer().start_as_current_span(
            f"{record.topic} process",
            context=context_from_kafka_headers(record.headers),
            kind=SpanKind.CONSUMER,
            attributes={
                "messaging.system": "kafka",
                "messaging.destination.name": record.topic,
                "messaging.kafka.destination.partition": record.partition,
                "messaging.kafka.message.offset": record.offset,
                "messaging.consumer.group.name": self.group_id,
                "messaging.message.id": envelope.event_id,
                "motcua.event.type": envelope.type,
            },
        )

    def _measure_lag(self, consumer: Any) -> None:
        """Per topic, the messages of its assigned partitions not yet read (the high watermark,
        as the last fetch saw it, less the position)."""
        lag: dict[str, int] = {}
        for partition in consumer.assignment():
            highwater = consumer.highwater(partition)
            if highwater is None:  # not fetched from yet
                continue
            # Known once fetched from: no round trip to the broker.
            position = consumer.position(partition, timeout_ms=0)
            if position is None:
                continue
            lag[partition.topic] = lag.get(partition.topic, 0) + max(highwater - position, 0)
        for topic, behind in lag.items():
            CONSUMER_LAG.set(behind, {"group": self.group_id, "topic": topic})

    def _position(self, upstream: str) -> int:
        if upstream not in self._positions:
            self._positions[upstream] = self.app.tracked_position(upstream)
        return self._positions[upstream]

    def _dead_letter(self, record: Any, upstream: str, envelope: envelope_pb2.EventEnvelope | None, error: str) -> None:
        log.error(
            "dead-lettering message",
            extra={"topic": record.topic, "partition": record.partition, "offset": record.offset, "error": error},
        )
        if self._dlq_producer is None:
            self._dlq_producer = new_producer(self.settings.kafka, f"{self.group_id}.deadletter")
        headers = [
            *(record.headers or []),
            ("motcua-error", error.encode()),
            ("motcua-source-topic", record.topic.encode()),
            ("motcua-source-partition", str(record.partition).encode()),
            ("motcua-source-offset", str(record.offset).encode()),
            ("motcua-consumer-group", self.group_id.encode()),
        ]
        self._dlq_producer.send(
            self.settings.deadletter_topic, key=record.key, value=record.value, headers=headers
        ).get(timeout=30)
        if envelope is not None and envelope.position > self._position(upstream):
            # Record the position so the poison message is not applied again later.
            self.app.record_processed(Tracking(upstream, envelope.position))
            self._positions[upstream] = envelope.position
        self.dead_lettered += 1
        CONSUMER_DEAD_LETTERED.add(1, {"group": self.group_id, "topic": record.topic})
