"""A deliberately non-idempotent consumer service, for counting effects in fault tests.

Every ProcedurePublished it applies appends one `Counted` event to a single
Tally aggregate, so an event applied twice would be counted twice: only the
kernel's tracking can keep the count right. Run as ``python -m tests.support.tally``.
"""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate, event

from motcua.kernel.config import Settings, events_topic
from motcua.kernel.consumer import Subscription, TrackedConsumer
from motcua.kernel.eventstore import ServiceApplication
from motcua.kernel.runtime import Service, main
from motcua.procedures.v1 import events_pb2

TALLY_ID = uuid5(NAMESPACE_URL, "/motcua/tests/tally")


class Tally(Aggregate):
    @staticmethod
    def create_id() -> UUID:
        return TALLY_ID

    @event("Opened")
    def __init__(self) -> None:
        self.counted: list[str] = []

    @event("Counted")
    def count(self, procedure_id: str) -> None:
        self.counted.append(procedure_id)


class TallyApp(ServiceApplication):
    name = "tally"

    def tally(self) -> Tally:
        try:
            return self.repository.get(TALLY_ID)
        except AggregateNotFoundError:
            return Tally()


def build(settings: Settings) -> Service:
    app = TallyApp(settings)

    def on_published(payload: events_pb2.ProcedurePublished, envelope) -> list:
        tally = app.tally()
        tally.count(payload.procedure_id)
        return [tally]

    consumer = TrackedConsumer(
        app, "tally", [events_topic("procedures")], [Subscription(events_pb2.ProcedurePublished, on_published)]
    )
    return Service(settings=settings, app=app, registrations=[], consumers=[consumer])


if __name__ == "__main__":
    # Import by name so that event topics read `tests.support.tally:...`, not `__main__:...`.
    from tests.support.tally import build as build_by_name

    main("tally", build_by_name)
