"""Publishing the dossiers service's integration events to Kafka by hand, as its relay would.

For tests of consumers of `motcua.dossiers.events.v1` that must not depend on the
dossiers service: each envelope gets the next position of a session-wide counter,
so positions rise along every partition. They start far above any position the
real dossiers relay reaches in a test session, so that these messages are never
taken for copies of real ones (a consumer skips positions at or below the last it applied).
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from google.protobuf import any_pb2, timestamp_pb2
from kafka import KafkaProducer

from motcua.common.v1 import envelope_pb2
from motcua.dossiers.v1 import events_pb2
from motcua.kernel.config import KafkaSettings, events_topic
from motcua.kernel.kafka import HEADER_EVENT_ID, HEADER_EVENT_TYPE, ensure_topics

TOPIC = events_topic("dossiers")
_positions = itertools.count(10**12)


def _timestamp(moment: datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(moment)
    return stamp


@dataclass(frozen=True)
class Published:
    """One envelope as sent (send it again to simulate a redelivery or a republish)."""

    key: bytes
    value: bytes
    envelope: envelope_pb2.EventEnvelope
    event: events_pb2.DossierReceived | events_pb2.DossierAssigned


@dataclass
class DossierEvents:
    bootstrap: str
    partitions: int = 3
    producer: KafkaProducer = field(init=False)

    def __post_init__(self) -> None:
        ensure_topics(KafkaSettings(bootstrap=self.bootstrap), [TOPIC], self.partitions)
        self.producer = KafkaProducer(bootstrap_servers=self.bootstrap)

    def received(
        self,
        applicant_account_id: str,
        appointed_return_time: datetime,
        code: str = "000.00.12.H56-260105-0001",
        dossier_id: str | None = None,
        receive_time: datetime | None = None,
        agency_id: str = "000.00.12.H56",
        fee_due_vnd: int = 0,
    ) -> Published:
        """A DossierReceived envelope with the next position (not sent yet)."""
        dossier_id = dossier_id or str(uuid.uuid4())
        event = events_pb2.DossierReceived(
            dossier_id=dossier_id,
            code=code,
            procedure_id=str(uuid.uuid4()),
            procedure_version=1,
            agency_id=agency_id,
            applicant_account_id=applicant_account_id,
            receive_time=_timestamp(receive_time or datetime.now(UTC)),
            appointed_return_time=_timestamp(appointed_return_time),
            version=2,
            fee_due_vnd=fee_due_vnd,
        )
        return self._published(event, dossier_id, agency_id)

    def assigned(self, dossier_id: str, applicant_account_id: str, code: str, agency_id: str, handling_agency_id: str,
                 assignee: str = "") -> Published:
        """A DossierAssigned envelope (e.g. after a transfer to ``handling_agency_id``), not sent
        yet."""
        ref = events_pb2.DossierRef(
            dossier_id=dossier_id,
            code=code,
            procedure_id=str(uuid.uuid4()),
            procedure_version=1,
            agency_id=agency_id,
            handling_agency_id=handling_agency_id,
            applicant_account_id=applicant_account_id,
            version=5,
        )
        event = events_pb2.DossierAssigned(dossier=ref, assign_time=_timestamp(datetime.now(UTC)),
                                           assignee=assignee or str(uuid.uuid4()))
        return self._published(event, dossier_id, handling_agency_id)

    def about(self, event) -> Published:
        """An envelope for any event with a ``dossier`` (DossierRef), not sent yet."""
        return self._published(event, event.dossier.dossier_id, event.dossier.handling_agency_id
                               or event.dossier.agency_id)

    def _published(self, event, dossier_id: str, agency_id: str) -> Published:
        payload = any_pb2.Any()
        payload.Pack(event, type_url_prefix="type.googleapis.com/")
        envelope = envelope_pb2.EventEnvelope(
            event_id=str(uuid.uuid4()),
            type=event.DESCRIPTOR.full_name,
            aggregate_id=dossier_id,
            aggregate_version=2,
            occurred_at=_timestamp(datetime.now(UTC)),
            actor=envelope_pb2.Actor(subject=str(uuid.uuid4()), agency_id=agency_id),
            source="dossiers",
            position=next(_positions),
            payload=payload,
        )
        return Published(dossier_id.encode(), envelope.SerializeToString(), envelope, event)

    def send(self, *messages: Published) -> None:
        """Sends in order and waits for the broker's acknowledgement."""
        for message in messages:
            headers = [
                (HEADER_EVENT_ID, message.envelope.event_id.encode()),
                (HEADER_EVENT_TYPE, message.envelope.type.encode()),
            ]
            self.producer.send(TOPIC, key=message.key, value=message.value, headers=headers)
        self.producer.flush()

    def close(self) -> None:
        self.producer.close()
