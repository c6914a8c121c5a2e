"""The dossiers service with a stopwatch: the consumer end of the benchmark.

It runs the real dossiers application and its real procedure-catalog policy
(ProcedurePublished -> ProcedureReplica, saved with its tracking position), and
after each of those transactions has committed appends one line to the file
named by ``MOTCUA_BENCH_APPLIED_LOG``:

    <upstream position> <occurred_at, ns> <applied_at, ns>

occurred_at is the envelope's ``occurred_at``: the domain event's timestamp,
taken in the procedures service just before its transaction commits.
applied_at is this process's wall clock right after the consumer's transaction
committed. Both clocks are the same machine's, so the difference is the
commit->consumer latency (over-stated by the producer's commit time itself).

Run as ``python -m tests.perf.probe`` with MOTCUA_SERVICE=dossiers.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from eventsourcing.persistence import Tracking

from motcua.dossiers.application import DossierOffice
from motcua.dossiers.consumers import procedure_catalog_consumer
from motcua.kernel.config import Settings
from motcua.kernel.consumer import Subscription
from motcua.kernel.runtime import Service

LOG_ENV = "MOTCUA_BENCH_APPLIED_LOG"


class TimedOffice(DossierOffice):
    name = DossierOffice.name  # same tables as the dossiers service (eventsourcing names them after the app)

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self._log = open(os.environ[LOG_ENV], "a", buffering=1)  # line-buffered: the bench tails it
        self._occurred = threading.local()  # set by the policy, read right after the commit

    def record_processed(self, tracking: Tracking, *aggregates: Any) -> None:
        super().record_processed(tracking, *aggregates)
        applied_ns = time.time_ns()
        occurred_ns = getattr(self._occurred, "ns", None)
        self._occurred.ns = None
        if occurred_ns is not None:
            self._log.write(f"{tracking.notification_id} {occurred_ns} {applied_ns}\n")

    def close(self) -> None:
        super().close()
        self._log.close()


def build(settings: Settings) -> Service:
    office = TimedOffice(settings)
    consumer = procedure_catalog_consumer(office)
    for name, subscription in list(consumer.policies.items()):
        consumer.policies[name] = Subscription(subscription.message_type, _timed(office, subscription.policy))
    return Service(settings=settings, app=office, registrations=[], consumers=[consumer])


def _timed(office: TimedOffice, policy):
    def policy_noting_occurred_at(payload: Any, envelope: Any):
        office._occurred.ns = envelope.occurred_at.ToNanoseconds()
        return policy(payload, envelope)

    return policy_noting_occurred_at


if __name__ == "__main__":
    from motcua.kernel.runtime import main

    # Import by name so that event topics read `tests.perf.probe:...`, not `__main__:...`.
    from tests.perf.probe import build as build_by_name

    main("dossiers", build_by_name)
