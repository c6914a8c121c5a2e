"""Policies: how the dossiers service reacts to other services' integration events."""

from __future__ import annotations

from uuid import UUID

from motcua.common.v1.envelope_pb2 import EventEnvelope
from motcua.kernel.config import events_topic
from motcua.kernel.consumer import Subscription, TrackedConsumer
from motcua.procedures.v1 import events_pb2 as procedures_events

from .application import DossierOffice


def procedure_catalog_consumer(office: DossierOffice) -> TrackedConsumer:
    def on_procedure_published(event: procedures_events.ProcedurePublished, envelope: EventEnvelope) -> list:
        replica = office.replicate_procedure(
            procedure_id=UUID(event.procedure_id),
            code=event.code,
            name=event.name,
            agency_id=event.agency_id,
            processing_days=event.processing_days,
            procedure_version=event.version,
        )
        return [replica]

    return TrackedConsumer(
        office,
        name="procedure-catalog",
        topics=[events_topic("procedures")],
        subscriptions=[Subscription(procedures_events.ProcedurePublished, on_procedure_published)],
    )
