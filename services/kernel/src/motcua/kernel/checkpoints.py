"""Checkpoints of the hash chains: heads published by every sealer, signed checkpoints kept
by every service (docs/audit-chain.md).

The chain alone cannot show a log rewritten together with its whole chain by someone who can
write both tables. So every sealer publishes its chain head (``HeadPublisher``: every
``MOTCUA_CHECKPOINT_EVERY`` sealed records or ``MOTCUA_CHECKPOINT_INTERVAL`` seconds,
whichever comes first) on ``HEADS_TOPIC``; the signing service signs each head with its audit
key and publishes the signed checkpoint on ``CHECKPOINTS_TOPIC``; and every service keeps every
service's checkpoints in its own database (``CheckpointWitness``, table ``motcua_checkpoints``).
One database's administrator then cannot rewrite its history unnoticed: the other databases
hold signed heads of it.

A head names its log by the service and the database it lives in, so that several logs of one
service name on one bus (a test session, several deployments) are told apart.

No service-to-service credentials are involved: the bus carries heads and checkpoints, and a
checkpoint is worth only its signature, which anyone can check against the audit certificate.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from typing import Any

from google.protobuf.message import DecodeError

from motcua.audit.v1 import checkpoints_pb2

from .config import Settings
from .eventstore import dedicated_connection
from .kafka import ensure_topics, new_consumer, new_producer
from .supervision import WorkerHealth, keep_running

log = logging.getLogger(__name__)

HEADS_TOPIC = "motcua.audit.chain-heads.v1"
CHECKPOINTS_TOPIC = "motcua.audit.checkpoints.v1"
CHECKPOINTS_TABLE = "motcua_checkpoints"

CHECKPOINTS_DDL = f"""
CREATE TABLE IF NOT EXISTS {CHECKPOINTS_TABLE} (
    service text NOT NULL,
    database text NOT NULL,
    position bigint NOT NULL,
    digest bytea NOT NULL,
    sealed_count bigint NOT NULL,
    sealed_at timestamptz,
    key_id text NOT NULL,
    signature bytea NOT NULL,
    certificates bytea[] NOT NULL,
    timestamp_token bytea,
    signed_at timestamptz,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (service, database, position, key_id)
)"""

SIGNED_TEXT_VERSION = "motcua-audit-checkpoint/1"


def signed_text(service: str, database: str, position: int, digest: bytes) -> bytes:
    """The bytes an audit key signs for one head (documented in docs/audit-chain.md): plain
    text, so that an auditor can rebuild it without protobuf."""
    return f"{SIGNED_TEXT_VERSION}\n{service}\n{database}\n{position}\n{digest.hex()}\n".encode()


def log_database(settings: Settings) -> str:
    """The name of the database holding the service's log, as heads name it."""
    return settings.eventstore_env.get("POSTGRES_DBNAME", f"motcua_{settings.service}")


class HeadPublisher:
    """Publishes a sealer's chain head when enough records or time have passed since the last."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.database = log_database(settings)
        self._producer: Any = None
        self._pending = 0  # records sealed since the last head published
        self._last = time.monotonic()
        self.published = 0

    def sealed(self, records: int) -> None:
        self._pending += records

    def due(self) -> bool:
        if self._pending <= 0:
            return False
        return (self._pending >= self.settings.checkpoint_every
                or time.monotonic() - self._last >= self.settings.checkpoint_interval)

    def publish(self, position: int, digest: bytes, sealed_count: int) -> None:
        """Sends the head; a failure is logged and retried at the next due time, never raised:
        the sealer goes on sealing while Kafka is away."""
        head = checkpoints_pb2.ChainHead(service=self.settings.service, database=self.database,
                                         position=position, digest=digest, sealed_count=sealed_count)
        head.sealed_at.FromDatetime(dt.datetime.now(dt.UTC))
        self._last = time.monotonic()
        try:
            if self._producer is None:
                ensure_topics(self.settings.kafka, [HEADS_TOPIC, CHECKPOINTS_TOPIC],
                              self.settings.topic_partitions)
                self._producer = new_producer(self.settings.kafka,
                                              f"motcua-{self.settings.service}-chain-heads")
            self._producer.send(HEADS_TOPIC, key=self.settings.service.encode(),
                                value=head.SerializeToString()).get(timeout=15)
        except Exception as e:
            log.warning("chain head not published; trying again later", extra={
                "service": self.settings.service, "position": position, "error": f"{type(e).__name__}: {e}"})
            return
        self._pending = 0
        self.published += 1

    def close(self) -> None:
        if self._producer is not None:
            self._producer.close(timeout=5)
            self._producer = None


class CheckpointWitness:
    """Keeps every service's signed checkpoints in this service's database (cross-witnessing).

    Every replica's consumer is in one group, so each checkpoint is stored once per service;
    a redelivered one changes nothing (the primary key). Offsets are committed after the rows."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.name = "checkpoint-witness"
        self.group_id = f"motcua.{settings.service}.checkpoint-witness"
        self.health = WorkerHealth(f"checkpoint witness {settings.service}")
        self.stored = 0

    def run(self, stop: threading.Event) -> None:
        keep_running(stop, self._witness, "checkpoint witness", health=self.health, group=self.group_id)

    def _witness(self, stop: threading.Event) -> None:
        ensure_topics(self.settings.kafka, [CHECKPOINTS_TOPIC], self.settings.topic_partitions)
        with dedicated_connection(self.settings, self.name) as conn:
            conn.execute(CHECKPOINTS_DDL)
            consumer = new_consumer(self.settings.kafka, self.group_id, [CHECKPOINTS_TOPIC])
            try:
                while not stop.is_set():
                    batches = consumer.poll(timeout_ms=500)
                    rows = [row for records in batches.values() for record in records
                            if (row := self._row(record)) is not None]
                    if rows:
                        with conn.transaction(), conn.cursor() as cursor:
                            cursor.executemany(
                                f"INSERT INTO {CHECKPOINTS_TABLE} (service, database, position, digest, "
                                "sealed_count, sealed_at, key_id, signature, certificates, timestamp_token, "
                                "signed_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                                "ON CONFLICT DO NOTHING", rows)
                        self.stored += len(rows)
                    if batches:
                        consumer.commit()
                    self.health.working()
            finally:
                consumer.close(autocommit=False)

    @staticmethod
    def _row(record: Any) -> tuple[Any, ...] | None:
        """A checkpoint as a table row; None (logged) for a message that is not one. Its
        signature is not checked here: a verifier checks it against the certificate it carries,
        and a witness keeps what it was sent, as evidence either way."""
        try:
            checkpoint = checkpoints_pb2.SignedCheckpoint.FromString(record.value)
        except DecodeError as e:
            log.error("not a checkpoint; skipped", extra={"offset": record.offset, "error": str(e)})
            return None
        head = checkpoint.head
        if not head.service or not checkpoint.signature or not checkpoint.certificates:
            log.error("incomplete checkpoint; skipped", extra={"offset": record.offset, "service": head.service})
            return None
        return (
            head.service, head.database, head.position, head.digest, head.sealed_count,
            head.sealed_at.ToDatetime(dt.UTC) if head.HasField("sealed_at") else None,
            checkpoint.key_id, checkpoint.signature, list(checkpoint.certificates),
            checkpoint.timestamp_token or None,
            checkpoint.signed_at.ToDatetime(dt.UTC) if checkpoint.HasField("signed_at") else None,
        )
