"""Workers that one replica of a service runs at a time: the outbox relay, the chain sealer and the
audit indexer, each following the service's event log.

Every replica runs the worker; the one holding a PostgreSQL advisory lock of the worker's own
key leads, the others stand by and try again every second. The lock lives as long as the
leader's dedicated connection: if the leader dies, its session ends and a standby takes over
where the leader's durable progress says (the relay's saved position, the chain's head).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import Any

import psycopg
from eventsourcing.postgres import PostgresApplicationRecorder

from .config import Settings
from .eventstore import dedicated_connection
from .supervision import WorkerHealth, keep_running

STANDBY_RETRY = 1.0  # seconds between a standby's attempts at the lock

# What a worker writes on its dedicated connection is derived from the log and resumes from the
# durable progress it finds (the relay's position, the chain's head, the index's last position):
# a server crash that loses its last commits makes it redo them (the relay republishes, and
# consumers recognise the copies by position; digests and index rows come out the same). So its
# commits need not wait for their WAL flush, one more fsync per commit of the log.
RELAXED_DURABILITY = "SET synchronous_commit = off"


class SingleLeaderWorker:
    """Base of a worker led by one replica: subclasses do their work in ``lead``."""

    def __init__(self, settings: Settings, what: str, lock_key: str, health: WorkerHealth,
                 **log_context: object) -> None:
        self.settings = settings
        self.what = what  # names the worker in logs
        self.name = what.replace(" ", "-")  # its thread, and its connection in pg_stat_activity
        self.lock_key = lock_key
        self.health = health
        self.log_context = log_context
        self._is_leader = threading.Event()

    @property
    def is_leader(self) -> bool:
        return self._is_leader.is_set()

    def run(self, stop: threading.Event) -> None:
        keep_running(stop, self._lead_when_elected, self.what, health=self.health, **self.log_context)

    def lead(self, conn: psycopg.Connection, stop: threading.Event) -> None:
        """The work, while holding the lock, on the connection that holds it (until ``stop``)."""
        raise NotImplementedError

    def follow_log(self, conn: psycopg.Connection, recorder: PostgresApplicationRecorder, after: int,
                   batch_size: int, idle_wait: float, stop: threading.Event,
                   gather: float = 0.0) -> Iterator[Sequence[Any]]:
        """The log's records (eventsourcing's ``Notification``: position ``id``, and the stored
        event's fields as stored) after position ``after``, a batch at a time as they are committed,
        until ``stop``. When none is left it waits for the event store's NOTIFY of a commit (or
        ``idle_wait`` seconds, a poll in case one is missed) and yields an empty batch, so that
        the caller's timed work goes on while the log is quiet.

        ``gather``: seconds to wait after a batch that was not full before reading again, for a
        worker that may trail the log (the chain sealer, the audit indexer): under a steady stream
        of commits it then reads, writes and commits once per interval rather than once per commit.
        The relay, which the consumers wait for, gathers nothing."""
        conn.execute(f'LISTEN "{recorder.channel_name}"')
        while not stop.is_set():
            # The NOTIFYs queued so far announce commits the read below sees: consumed now, or each
            # would cost a read of its own once the log is drained (one per commit under load).
            for _ in conn.notifies(timeout=0):
                pass
            batch = recorder.select_notifications(start=after, limit=batch_size, inclusive_of_start=False)
            if batch:
                after = batch[-1].id
                yield batch
                if gather and len(batch) < batch_size:
                    stop.wait(gather)
            else:
                self.health.working()
                for _ in conn.notifies(timeout=idle_wait, stop_after=1):
                    pass
                yield batch

    def _lead_when_elected(self, stop: threading.Event) -> None:
        try:
            with dedicated_connection(self.settings, self.name) as conn:
                while conn.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (self.lock_key,)).fetchone() != (True,):
                    self.health.working()  # a standby: another replica leads
                    if stop.wait(STANDBY_RETRY):
                        return
                self._is_leader.set()
                self.lead(conn, stop)
        finally:
            self._is_leader.clear()
