"""A deliberately non-idempotent consumer of the dossiers' events, for counting effects at scale.

Every DossierSubmitted and DossierReceived it applies appends one `Counted` event to the
aggregate of that (event kind, dossier): an event applied twice is counted twice, so only the
kernel's tracking (positions saved with the effects) keeps every count at one. One small
aggregate per dossier and kind keeps each message's work constant however many there are.
Run as ``python -m tests.faults.dossier_tally``.
"""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate, event

from motcua.dossiers.v1 import events_pb2
from motcua.kernel.config import Settings, events_topic
from motcua.kernel.consumer import Subscription, TrackedConsumer
from motcua.kernel.eventstore import ServiceApplication
from motcua.kernel.runtime import Service, main

NAME = "dossier_tally"


def tally_id(kind: str, dossier_id: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"/motcua/tests/dossier-tally/{kind}/{dossier_id}")


class DossierTally(Aggregate):
    @event("Opened")
    def __init__(self, kind: str, dossier_id: str) -> None:
        self.kind = kind
        self.dossier_id = dossier_id

    @staticmethod
    def create_id(kind: str, dossier_id: str) -> UUID:
        return tally_id(kind, dossier_id)

    @event("Counted")
    def count(self) -> None:
        pass


class DossierTallyApp(ServiceApplication):
    name = NAME


def build(settings: Settings) -> Service:
    app = DossierTallyApp(settings)

    def counting(kind: str):
        def on_event(payload, envelope) -> list:
            try:
                tally: DossierTally = app.repository.get(tally_id(kind, payload.dossier_id))
            except AggregateNotFoundError:
                tally = DossierTally(kind, payload.dossier_id)
            tally.count()
            return [tally]

        return on_event

    consumer = TrackedConsumer(
        app, "dossier-tally", [events_topic("dossiers")],
        [Subscription(events_pb2.DossierSubmitted, counting("submitted")),
         Subscription(events_pb2.DossierReceived, counting("received"))],
    )
    return Service(settings=settings, app=app, registrations=[], consumers=[consumer])


if __name__ == "__main__":
    # Import by name so that event topics read `tests.faults.dossier_tally:...`, not `__main__:...`.
    from tests.faults.dossier_tally import build as build_by_name

    main(NAME, build_by_name)
