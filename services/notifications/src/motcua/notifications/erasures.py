"""A person erased through the dossiers service's EraseSubject is erased here too: the keys
of their contact points and notifications are destroyed and their inbox rows masked."""

from __future__ import annotations

from uuid import UUID

from motcua.common.v1.envelope_pb2 import EventEnvelope
from motcua.dossiers.v1 import events_pb2 as dossiers_events
from motcua.kernel.config import events_topic
from motcua.kernel.consumer import PoisonMessage, Subscription, TrackedConsumer

from . import personal_data
from .application import NotificationsApplication


def erasures_consumer(app: NotificationsApplication) -> TrackedConsumer:
    def on_subject_erased(event: dossiers_events.SubjectErased, envelope: EventEnvelope) -> list:
        try:
            account_id = UUID(event.account_id) if event.account_id else None
            dossier_ids = [UUID(d) for d in event.dossier_ids]
        except ValueError:
            raise PoisonMessage("SubjectErased with an id that is not a UUID") from None
        erased_by = envelope.actor.subject if envelope.HasField("actor") else ""
        personal_data.erase(app, account_id, dossier_ids, erased_by or "dossiers", f"dossiers:{envelope.aggregate_id}")
        return []

    return TrackedConsumer(
        app,
        name="erasures",
        topics=[events_topic("dossiers")],
        subscriptions=[Subscription(dossiers_events.SubjectErased, on_subject_erased)],
    )
