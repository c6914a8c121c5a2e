"""The request expiry: a worker, led by one replica, that records ``Expired`` for each remote
signature request still pending past its expiry, so that the requester and the dossier hear of
it (an integration event) without anyone reading the request first.

It follows the log for new requests and keeps the pending ones in memory; a new leader reads
the log from its start once, then only what is new."""

from __future__ import annotations

import datetime as dt
import threading
import uuid

import psycopg

from motcua.kernel.leadership import SingleLeaderWorker
from motcua.kernel.supervision import WorkerHealth

from .application import SigningApplication


class RequestExpiry(SingleLeaderWorker):
    def __init__(self, app: SigningApplication, interval: float) -> None:
        self.app = app
        self.interval = interval
        super().__init__(app.settings, "request expiry", "signing:request-expiry", WorkerHealth("request expiry"))

    def lead(self, conn: psycopg.Connection, stop: threading.Event) -> None:
        pending: set[uuid.UUID] = set()
        position = 0
        while not stop.is_set():
            new, position = self.app.requested_since(position)
            pending.update(new)
            now = dt.datetime.now(dt.UTC)
            for request_id in sorted(pending):
                if not self.app.expire_if_due(request_id, now):
                    pending.discard(request_id)  # answered, cancelled or expired: settled
            self.health.working()
            if stop.wait(self.interval):
                return
