"""The dossiers service with a stopwatch: the consumer end of the benchmark.

It runs the real dossiers application and its real procedure-catalog policy
(ProcedurePublished -> ProcedureReplica, saved with its tracking position), and
after each of those transactions has committed appends one line to the file
named by ``MOTCUA_BENCH_APPLIED_LOG``:

    <upstream position> <occurred_at> <picked_up_at> <applied_at>   (ns since the epoch)

occurred_at is the envelope's ``occurred_at``: the domain event's timestamp,
taken in the procedures service before its save. picked_up_at is this
process's wall clock when the policy starts on the event, applied_at right
after the consumer's transaction committed. Same machine, same clock.

Run as ``python -m tests.perf.probe`` with MOTCUA_SERVICE=dossiers.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from eventsourcing.persistence import Tracking

from motcua.dossiers.application.dossiers_application import DossiersApplication
from motcua.dossiers.consumers import procedure_catalog_consumer
from motcua.kernel.config import Settings
from motcua.kernel.consumer import Subscription
from motcua.kernel.runtime import Service

LOG_ENV = "MOTCUA_BENCH_APPLIED_LOG"


class AppliedTimes:
    """Mixed into a service application: after each consumer transaction has committed, one
    line per event it applied goes to the file named by MOTCUA_BENCH_APPLIED_LOG."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)  # type: ignore[call-arg]
        self._log = open(os.environ[LOG_ENV], "a", buffering=1)  # line-buffered: the bench tails it
        self._timing = threading.local()  # {position: (occurred_at, picked_up_at)} since the last commit

    def note_picked_up(self, position: int, occurred_ns: int) -> None:
        if not hasattr(self._timing, "pending"):
            self._timing.pending = {}
        self._timing.pending[position] = (occurred_ns, time.time_ns())

    def record_processed(self, tracking: Tracking, *aggregates: Any) -> None:
        # One commit may apply a whole batch of events (or none: a dead letter's position).
        pending = getattr(self._timing, "pending", {})
        self._timing.pending = {}
        super().record_processed(tracking, *aggregates)  # type: ignore[misc]  # if it fails, applied again
        applied_ns = time.time_ns()
        for position, (occurred_ns, picked_ns) in sorted(pending.items()):
            self._log.write(f"{position} {occurred_ns} {picked_ns} {applied_ns}\n")

    def close(self) -> None:
        super().close()  # type: ignore[misc]
        self._log.close()


class TimedOffice(AppliedTimes, DossiersApplication):
    name = DossiersApplication.name  # same tables as the dossiers service (eventsourcing names them after the app)


def build(settings: Settings) -> Service:
    office = TimedOffice(settings)
    consumer = procedure_catalog_consumer(office)
    for name, subscription in list(consumer.policies.items()):
        consumer.policies[name] = Subscription(subscription.message_type, _timed(office, subscription.policy))
    return Service(settings=settings, app=office, registrations=[], consumers=[consumer])


def _timed(office: AppliedTimes, policy):
    def policy_noting_times(payload: Any, envelope: Any):
        office.note_picked_up(envelope.position, envelope.occurred_at.ToNanoseconds())
        return policy(payload, envelope)

    return policy_noting_times


if __name__ == "__main__":
    from motcua.kernel.runtime import main

    # Import by name so that event topics read `tests.perf.probe:...`, not `__main__:...`.
    from tests.perf.probe import build as build_by_name

    main("dossiers", build_by_name)
