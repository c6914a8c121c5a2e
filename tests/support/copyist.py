"""A consumer service for outage tests: copies each text it consumes into a note.

It consumes ``MOTCUA_TEST_UPSTREAM_TOPIC`` (envelopes carrying a ``StringValue``); every
applied message appends one `Copied` event to a single Copybook aggregate (not idempotent
on purpose: a message applied twice shows up twice). The text "độc" is refused by a domain
rule, so a rejection can be told apart from an outage. Run as ``python -m tests.support.copyist``
with MOTCUA_SERVICE naming it.
"""

from __future__ import annotations

import os
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate, event
from google.protobuf import wrappers_pb2

from motcua.kernel.config import Settings
from motcua.kernel.consumer import Subscription, TrackedConsumer
from motcua.kernel.errors import InvalidArgument
from motcua.kernel.eventstore import ServiceApplication
from motcua.kernel.runtime import Service, main

COPYBOOK_ID = uuid5(NAMESPACE_URL, "/motcua/tests/copybook")
REFUSED_TEXT = "độc"


class Copybook(Aggregate):
    @staticmethod
    def create_id() -> UUID:
        return COPYBOOK_ID

    @event("Opened")
    def __init__(self) -> None:
        self.copied: list[str] = []

    @event("Copied")
    def copy(self, text: str) -> None:
        self.copied.append(text)


class CopyistApp(ServiceApplication):
    name = "copyist"

    def copybook(self) -> Copybook:
        try:
            return self.repository.get(COPYBOOK_ID)
        except AggregateNotFoundError:
            return Copybook()

    def copied(self) -> list[str]:
        try:
            return list(self.repository.get(COPYBOOK_ID).copied)
        except AggregateNotFoundError:
            return []


def build(settings: Settings) -> Service:
    app = CopyistApp(settings)

    def on_text(payload: wrappers_pb2.StringValue, envelope) -> list:
        if payload.value == REFUSED_TEXT:
            raise InvalidArgument.field("text", "refused by the copyist")
        copybook = app.copybook()
        copybook.copy(payload.value)
        return [copybook]

    consumer = TrackedConsumer(
        app, "copyist", [os.environ["MOTCUA_TEST_UPSTREAM_TOPIC"]], [Subscription(wrappers_pb2.StringValue, on_text)]
    )
    return Service(settings=settings, app=app, registrations=[], consumers=[consumer])


if __name__ == "__main__":
    # Import by name so that event topics read `tests.support.copyist:...`, not `__main__:...`.
    from tests.support.copyist import build as build_by_name

    main(os.environ["MOTCUA_SERVICE"], build_by_name)
