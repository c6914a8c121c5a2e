"""Coming-due and overdue detection, inside the service, safe with several replicas.

The deadlines table holds each dossier whose clock runs, with its due and coming-due
times, kept by the event store's recorder in the events' transaction (kernel
``readmodel``). The watch (one active per service: the replica holding a PostgreSQL
advisory lock) polls it for dossiers past a time not flagged yet and lets each dossier
flag itself (``Dossier.watch``): one ``CameDue`` and one ``BecameOverdue`` per due date.
Correctness does not rest on the lock: a dossier flags a due date once, and two
replicas flagging it at once collide on its version (one save fails, harmlessly).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

import psycopg

from motcua.kernel.context import Actor, acting_as
from motcua.kernel.errors import VersionConflict
from motcua.kernel.eventstore import dedicated_connection
from motcua.kernel.metrics import DEADLINE_FLAGGED, DEADLINE_SWEEPS
from motcua.kernel.supervision import WorkerHealth, keep_running

log = logging.getLogger(__name__)


class DeadlineWatch:
    """The background loop; ``run(stop)`` as the runtime's other workers."""

    name = "deadline-watch"

    def __init__(self, app: Any, interval: float, clock: Callable[[], datetime] | None = None) -> None:
        self.app = app
        self.interval = interval
        self.clock = clock or app.clock
        self.flagged = 0
        self.health = WorkerHealth(self.name)

    def run(self, stop: threading.Event) -> None:
        keep_running(stop, self._lead, "deadline watch", health=self.health)

    def _lead(self, stop: threading.Event) -> None:
        with dedicated_connection(self.app.settings, "deadline-watch") as conn:
            while not _leads(conn):
                self.health.working()  # another replica leads: nothing to do here
                if stop.wait(self.interval):
                    return
            while not stop.is_set():
                try:
                    self.sweep()
                except Exception:
                    DEADLINE_SWEEPS.add(1, {"outcome": "failed"})
                    raise
                DEADLINE_SWEEPS.add(1, {"outcome": "ok"})
                self.health.working()
                stop.wait(self.interval)

    def sweep(self) -> int:
        """One pass: flags what is due; returns how many flags it raised."""
        raised = 0
        now = self.clock()
        with acting_as(Actor.system(self.app.name)):
            for dossier_id in self.app.recorder.to_watch(now):
                try:
                    raised += len(self.app.watch_deadline(dossier_id, now))
                except VersionConflict:
                    continue  # changed meanwhile (or flagged by another replica): the next pass sees it again
        self.flagged += raised
        DEADLINE_FLAGGED.add(raised)
        return raised


def _leads(conn: psycopg.Connection) -> bool:
    """Takes the watch's lock when no other replica holds it: whether this one leads now."""
    row = conn.execute("SELECT pg_try_advisory_lock(hashtext(%s))", ("deadline-watch:dossiers",)).fetchone()
    return row is not None and bool(row[0])
