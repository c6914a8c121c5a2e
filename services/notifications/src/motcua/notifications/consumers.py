"""Policies: how the notifications service reacts to other services' integration events."""

from __future__ import annotations

from datetime import timezone
from uuid import UUID

from motcua.common.v1.envelope_pb2 import EventEnvelope
from motcua.dossiers.v1 import events_pb2 as dossiers_events
from motcua.kernel.config import events_topic
from motcua.kernel.consumer import PoisonMessage, Subscription, TrackedConsumer

from .application import DossierReceipt, NotificationCenter


def _uuid(value: str, field: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise PoisonMessage(f"DossierReceived.{field} is not a UUID: {value!r}") from None


def dossier_events_consumer(center: NotificationCenter) -> TrackedConsumer:
    def on_dossier_received(event: dossiers_events.DossierReceived, envelope: EventEnvelope) -> list:
        if not event.HasField("appointed_return_time"):
            raise PoisonMessage("DossierReceived without appointed_return_time")
        receipt = DossierReceipt(
            event_id=envelope.event_id or f"{envelope.source}:{envelope.position}",
            dossier_id=_uuid(event.dossier_id, "dossier_id"),
            code=event.code,
            agency_id=event.agency_id,
            applicant_account_id=_uuid(event.applicant_account_id, "applicant_account_id")
            if event.applicant_account_id
            else None,
            receive_time=event.receive_time.ToDatetime(tzinfo=timezone.utc) if event.HasField("receive_time") else None,
            appointed_return_time=event.appointed_return_time.ToDatetime(tzinfo=timezone.utc),
        )
        return center.notify_dossier_received(receipt)

    return TrackedConsumer(
        center,
        name="dossier-events",
        topics=[events_topic("dossiers")],
        subscriptions=[Subscription(dossiers_events.DossierReceived, on_dossier_received)],
    )
