"""Policies: how the notifications service reacts to other services' integration events."""

from __future__ import annotations

from datetime import UTC
from uuid import UUID

from motcua.common.v1.envelope_pb2 import EventEnvelope
from motcua.dossiers.v1 import events_pb2 as dossiers_events
from motcua.kernel.config import events_topic
from motcua.kernel.consumer import PoisonMessage, Subscription, TrackedConsumer

from .application import DossierReceipt, NotificationsApplication


def _uuid(value: str, field: str, event: str = "DossierReceived") -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise PoisonMessage(f"{event}.{field} is not a UUID: {value!r}") from None


def _account(value: str) -> UUID | None:
    """The applicant's account, when the dossier names one that can be notified."""
    try:
        return UUID(value) if value else None
    except ValueError:
        return None


# Events that carry the dossier's reference (its agencies now, its applicant): each keeps
# this service's copy of the dossier current, e.g. after a transfer to another agency.
_WITH_DOSSIER_REF = (
    dossiers_events.DossierSupplementRequested,
    dossiers_events.DossierApologyIssued,
    dossiers_events.DossierResultReady,
    dossiers_events.DossierReturned,
    dossiers_events.DossierRefused,
    dossiers_events.DossierWithdrawn,
    dossiers_events.DossierAssigned,
    dossiers_events.DossierCameDue,
    dossiers_events.DossierOverdue,
)


def dossier_events_consumer(center: NotificationsApplication) -> TrackedConsumer:
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
            receive_time=event.receive_time.ToDatetime(tzinfo=UTC) if event.HasField("receive_time") else None,
            appointed_return_time=event.appointed_return_time.ToDatetime(tzinfo=UTC),
        )
        copy = center.replicate_dossier(
            receipt.dossier_id, event.code, event.agency_id, "", receipt.applicant_account_id
        )
        return [*copy, *center.notify_dossier_received(receipt)]

    def on_dossier_submitted(event: dossiers_events.DossierSubmitted, envelope: EventEnvelope) -> list:
        name = "DossierSubmitted"
        return center.replicate_dossier(_uuid(event.dossier_id, "dossier_id", name), event.code, event.agency_id, "",
                                        _account(event.applicant_account_id))

    def on_dossier_ref(event, envelope: EventEnvelope) -> list:
        name, ref = type(event).__name__, event.dossier
        return center.replicate_dossier(_uuid(ref.dossier_id, "dossier.dossier_id", name), ref.code, ref.agency_id,
                                        ref.handling_agency_id,
                                        _account(ref.applicant_account_id))

    return TrackedConsumer(
        center,
        name="dossier-events",
        topics=[events_topic("dossiers")],
        subscriptions=[
            Subscription(dossiers_events.DossierReceived, on_dossier_received),
            Subscription(dossiers_events.DossierSubmitted, on_dossier_submitted),
            *(Subscription(event_type, on_dossier_ref) for event_type in _WITH_DOSSIER_REF),
        ],
    )
