"""Policies: how the dossiers service reacts to other services' integration events."""

from __future__ import annotations

from datetime import timezone
from uuid import UUID

from motcua.common.v1.envelope_pb2 import EventEnvelope
from motcua.kernel.config import events_topic
from motcua.kernel.consumer import Subscription, TrackedConsumer
from motcua.procedures.v1 import events_pb2 as procedures_events

from .application import DossierOffice, PublishedVersion


def procedure_catalog_consumer(office: DossierOffice) -> TrackedConsumer:
    def on_procedure_published(event: procedures_events.ProcedurePublished, envelope: EventEnvelope) -> list:
        published = PublishedVersion(
            procedure_id=UUID(event.procedure_id),
            code=event.code,
            name=event.name,
            agency_id=event.agency_id,
            processing_days=event.processing_days,
            procedure_version=event.version,
            # Events from before versions existed carry neither: the first version, in force from the start.
            version_number=event.version_number or 1,
            effective_from=event.effective_from.ToDatetime(tzinfo=timezone.utc) if event.HasField("effective_from") else None,
            superseded=event.superseded_version_number,
        )
        return [office.replicate_procedure(published)]

    def on_procedure_withdrawn(event: procedures_events.ProcedureWithdrawn, envelope: EventEnvelope) -> list:
        return office.withdraw_procedure_version(
            UUID(event.procedure_id), event.version_number, event.effective_until.ToDatetime(tzinfo=timezone.utc), event.version
        )

    return TrackedConsumer(
        office,
        name="procedure-catalog",
        topics=[events_topic("procedures")],
        subscriptions=[
            Subscription(procedures_events.ProcedurePublished, on_procedure_published),
            Subscription(procedures_events.ProcedureWithdrawn, on_procedure_withdrawn),
        ],
    )
