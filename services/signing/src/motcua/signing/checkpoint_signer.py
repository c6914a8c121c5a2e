"""Signs the chain heads every service's sealer publishes, and publishes the signed checkpoints.

Consumes ``HEADS_TOPIC`` (one consumer group over the replicas), signs each head with the
audit key (``audit_key``), with an RFC 3161 timestamp over the signature when a timestamp
authority is configured (``MOTCUA_SIGNING_TSA_URL``, as for documents), records it in the
service's own log (``audit_checkpoint``), then publishes it on ``CHECKPOINTS_TOPIC``, where
every service keeps it (``motcua.kernel.checkpoints.CheckpointWitness``). Offsets are committed
after the checkpoints are recorded and acknowledged by the broker; a head delivered again is
published again as first signed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import threading
from typing import Any

from google.protobuf.message import DecodeError

from motcua.audit.v1 import checkpoints_pb2
from motcua.kernel.checkpoints import CHECKPOINTS_TOPIC, HEADS_TOPIC, signed_text
from motcua.kernel.context import Actor, acting_as
from motcua.kernel.errors import VersionConflict
from motcua.kernel.eventstore import ServiceApplication
from motcua.kernel.kafka import ensure_topics, new_consumer, new_producer
from motcua.kernel.supervision import WorkerHealth, keep_running

from .audit_checkpoint import AuditCheckpoint
from .audit_key import AuditKey

log = logging.getLogger(__name__)


class CheckpointSigner:
    def __init__(self, app: ServiceApplication, key: AuditKey, timestamper: Any = None) -> None:
        self.app = app
        self.settings = app.settings
        self.key = key
        self.timestamper = timestamper  # pyHanko's HTTPTimeStamper, or None
        self.name = "checkpoint-signer"
        self.group_id = f"motcua.{self.settings.service}.checkpoint-signer"
        self.health = WorkerHealth("checkpoint signer")
        self.signed = 0

    def run(self, stop: threading.Event) -> None:
        keep_running(stop, self._sign_heads, "checkpoint signer", health=self.health, group=self.group_id)

    def _sign_heads(self, stop: threading.Event) -> None:
        ensure_topics(self.settings.kafka, [HEADS_TOPIC, CHECKPOINTS_TOPIC], self.settings.topic_partitions)
        consumer = new_consumer(self.settings.kafka, self.group_id, [HEADS_TOPIC])
        producer = new_producer(self.settings.kafka, f"motcua-{self.settings.service}-checkpoints")
        try:
            while not stop.is_set():
                batches = consumer.poll(timeout_ms=500)
                sent = []
                for records in batches.values():
                    for record in records:
                        checkpoint = self._checkpoint(record)
                        if checkpoint is not None:
                            sent.append(producer.send(CHECKPOINTS_TOPIC, key=checkpoint.head.service.encode(),
                                                      value=checkpoint.SerializeToString()))
                for future in sent:
                    future.get(timeout=30)  # raises if the broker did not acknowledge: the batch is done again
                if batches:
                    consumer.commit()
                self.health.working()
        finally:
            producer.close(timeout=5)
            consumer.close(autocommit=False)

    def _checkpoint(self, record: Any) -> checkpoints_pb2.SignedCheckpoint | None:
        try:
            head = checkpoints_pb2.ChainHead.FromString(record.value)
        except DecodeError as e:
            log.error("not a chain head; skipped", extra={"offset": record.offset, "error": str(e)})
            return None
        if not head.service or len(head.digest) != 32 or head.position <= 0:
            log.error("malformed chain head; skipped", extra={"offset": record.offset, "service": head.service})
            return None
        checkpoint_id = AuditCheckpoint.create_id(head.service, head.database, head.position)
        recorded = self.app.find(AuditCheckpoint, checkpoint_id)
        if recorded is None:
            recorded = self._sign(head)
            try:
                with acting_as(Actor.system(self.settings.service)):
                    self.app.save(recorded)
                self.signed += 1
            except VersionConflict:  # another replica signed it first: publish theirs
                recorded = self.app.find(AuditCheckpoint, checkpoint_id)
                if recorded is None:
                    raise
        return _message(recorded)

    def _sign(self, head: checkpoints_pb2.ChainHead) -> AuditCheckpoint:
        signature = self.key.sign(signed_text(head.service, head.database, head.position, head.digest))
        token = b""
        if self.timestamper is not None:
            # Over the signature, as a signature timestamp: it proves the head existed by then.
            token = asyncio.run(self.timestamper.async_timestamp(hashlib.sha256(signature).digest(), "sha256")).dump()
        sealed_at = head.sealed_at.ToDatetime(dt.UTC).isoformat() if head.HasField("sealed_at") else ""
        return AuditCheckpoint.sign(
            service=head.service, database=head.database, position=head.position, digest=head.digest,
            sealed_count=head.sealed_count, sealed_at=sealed_at, key_id=self.key.key_id, signature=signature,
            certificates=self.key.certificates_der(), timestamp_token=token,
            signed_at=dt.datetime.now(dt.UTC).isoformat())


def _message(checkpoint: AuditCheckpoint) -> checkpoints_pb2.SignedCheckpoint:
    head = checkpoints_pb2.ChainHead(service=checkpoint.service, database=checkpoint.database,
                                     position=checkpoint.position, digest=checkpoint.digest,
                                     sealed_count=checkpoint.sealed_count)
    if checkpoint.sealed_at:
        head.sealed_at.FromDatetime(dt.datetime.fromisoformat(checkpoint.sealed_at))
    message = checkpoints_pb2.SignedCheckpoint(
        head=head, key_id=checkpoint.key_id, signature=checkpoint.signature,
        certificates=checkpoint.certificates, timestamp_token=checkpoint.timestamp_token)
    message.signed_at.FromDatetime(dt.datetime.fromisoformat(checkpoint.signed_at))
    return message
