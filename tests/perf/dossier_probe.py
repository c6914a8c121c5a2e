"""A consumer of the dossiers' events with a stopwatch: the far end of the dossier-commands row.

It runs the kernel's tracked consumer on ``motcua.dossiers.events.v1`` in a process and on a
database of its own, subscribed to DossierReceived, and records each one's position with the
consumer's transaction (the tracking row, exactly as every service's consumer does; no aggregate
of its own: what it measures is the dossiers service's command path up to a consumer's commit,
not any one downstream service's work). After each commit it appends the same lines as
tests/perf/probe.py:

    <upstream position> <occurred_at> <picked_up_at> <applied_at>   (ns since the epoch)

Run as ``python -m tests.perf.dossier_probe`` with MOTCUA_SERVICE=dossierprobe.
"""

from __future__ import annotations

from typing import Any

from motcua.dossiers.v1 import events_pb2 as dossiers_events
from motcua.kernel.config import Settings, events_topic
from motcua.kernel.consumer import Subscription, TrackedConsumer
from motcua.kernel.eventstore import ServiceApplication
from motcua.kernel.runtime import Service
from tests.perf.probe import AppliedTimes, _timed

SERVICE = "dossierprobe"


class DossierEventsProbe(AppliedTimes, ServiceApplication):
    name = "DossierEventsProbe"


def _position_only(event: Any, envelope: Any) -> list:
    return []  # the tracking row, committed by the consumer, is the effect


def build(settings: Settings) -> Service:
    probe = DossierEventsProbe(settings)
    consumer = TrackedConsumer(
        probe,
        name="bench",
        topics=[events_topic("dossiers")],
        subscriptions=[Subscription(dossiers_events.DossierReceived, _timed(probe, _position_only))],
    )
    return Service(settings=settings, app=probe, registrations=[], consumers=[consumer])


if __name__ == "__main__":
    from motcua.kernel.runtime import main
    from tests.perf.dossier_probe import build as build_by_name

    main(SERVICE, build_by_name)
