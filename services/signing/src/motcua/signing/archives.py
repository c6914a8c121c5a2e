"""The archive renewal: a worker, led by one replica, that re-augments the archived B-LTA
documents whose last document timestamp's certificate comes within the margin of its expiry
(SigningApplication.reaugment_due), once per interval."""

from __future__ import annotations

import datetime as dt
import logging
import threading

import psycopg

from motcua.kernel.leadership import SingleLeaderWorker
from motcua.kernel.supervision import WorkerHealth

from .application import SigningApplication
from .pades import TimestampUnavailable

log = logging.getLogger(__name__)


class ArchiveRenewal(SingleLeaderWorker):
    def __init__(self, app: SigningApplication, margin: dt.timedelta, interval: float) -> None:
        self.app = app
        self.margin = margin
        self.interval = interval
        super().__init__(app.settings, "archive renewal", "signing:archive-renewal", WorkerHealth("archive renewal"))

    def lead(self, conn: psycopg.Connection, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                renewed = self.app.reaugment_due(dt.datetime.now(dt.UTC), self.margin)
            except TimestampUnavailable as e:
                # Retried at the next round: the margin is there for days like this.
                log.warning("archive renewal: the timestamp authority did not answer", extra={"error": str(e)})
                self.health.failing(e)
            else:
                self.health.working()
                if renewed:
                    log.info("archived documents re-augmented", extra={"documents": [str(d) for d in renewed]})
            if stop.wait(self.interval):
                return
