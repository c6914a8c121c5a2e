"""Policies: how the identity service reacts to other services' integration events.

A person erased through the dossiers service's EraseSubject (a data-protection officer's
lawful request) is erased here too when they are an account: one request, every service.
"""

from __future__ import annotations

from uuid import UUID

from motcua.common.v1.envelope_pb2 import EventEnvelope
from motcua.dossiers.v1 import events_pb2 as dossiers_events
from motcua.kernel.config import events_topic
from motcua.kernel.consumer import PoisonMessage, Subscription, TrackedConsumer

from .application import IdentityApplication


def erasures_consumer(app: IdentityApplication) -> TrackedConsumer:
    def on_subject_erased(event: dossiers_events.SubjectErased, envelope: EventEnvelope) -> list:
        if not event.account_id:
            return []  # a person without an account: identity holds nothing of theirs
        try:
            account_id = UUID(event.account_id)
        except ValueError:
            raise PoisonMessage("SubjectErased with an account_id that is not a UUID") from None
        erased_by = envelope.actor.subject if envelope.HasField("actor") else ""
        return app.erase_account_data(account_id, erased_by or "dossiers", f"dossiers:{envelope.aggregate_id}")

    return TrackedConsumer(
        app,
        name="erasures",
        topics=[events_topic("dossiers")],
        subscriptions=[Subscription(dossiers_events.SubjectErased, on_subject_erased)],
    )
