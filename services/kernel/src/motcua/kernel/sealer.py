"""The chain sealer: extends the hash chain (``chain``) over a service's event log as it grows.

Every service process runs one (``runtime``), beside its outbox relay; one per service seals at
a time (``leadership``: a PostgreSQL advisory lock of its own, as the relay's). It reads the
notification log after the last sealed id, in notification-id order, computes each record's
digest from the one before, and appends the rows ``(notification_id, digest)`` of a batch to
``motcua_chain`` (the service's database, created here) in one transaction. It wakes on the
NOTIFY the event store sends at every commit, and polls as a fallback.

Why here, after commit, and not in the transaction that writes the events:

* The write path stays as fast. Requests share transactions (``groupcommit``); chaining
  inside them would make every batch read the last digest under the event table's lock and
  hash before committing, lengthening the very critical section that bounds throughput.
  The sealer hashes off that path, in batches, trailing the log by one commit.
* Notification-id order is commit order. The event store takes an EXCLUSIVE lock on the
  events table for each insert, so ids are handed out in the order transactions commit: once
  an id is visible, no smaller id can appear later. Reading "after the last sealed id" (the
  relay's approach) therefore never skips an event that commits late; gaps in the ids are ids
  of rolled-back transactions, which never appear, and the chain simply links the next record
  present. It is the order the relay publishes in, too.

After sealing, it publishes the chain head to be signed as a checkpoint (``checkpoints``),
every so many records or seconds.

Until sealed, the newest records are only "the unsealed tail"; ``motcua-audit verify --live``
says how many there are.
"""

from __future__ import annotations

import logging
import threading

import psycopg
from eventsourcing.postgres import PostgresApplicationRecorder
from opentelemetry import metrics

from .chain import GENESIS, record_digest
from .checkpoints import HeadPublisher
from .eventstore import ServiceApplication
from .leadership import RELAXED_DURABILITY, SingleLeaderWorker
from .supervision import WorkerHealth

log = logging.getLogger(__name__)

CHAIN_TABLE = "motcua_chain"
TRAILING_GATHER = 0.2  # seconds the sealer lets commits gather into one batch (leadership.follow_log)

CHAIN_DDL = f"""
CREATE TABLE IF NOT EXISTS {CHAIN_TABLE} (
    notification_id bigint PRIMARY KEY,
    digest bytea NOT NULL,
    sealed_at timestamptz NOT NULL DEFAULT now()
)"""

_sealed_counter = metrics.get_meter("motcua.kernel.sealer").create_counter(
    "motcua.chain.sealed", unit="{event}", description="Stored events sealed into the service's hash chain"
)


class ChainSealer(SingleLeaderWorker):
    def __init__(self, app: ServiceApplication, batch_size: int = 1000, idle_wait: float = 0.5) -> None:
        self.app = app
        self.batch_size = batch_size
        self.idle_wait = idle_wait
        self.sealed = 0
        service = app.settings.service
        # Its own key: the relay's leader and the sealer's may be different replicas.
        super().__init__(app.settings, "chain sealer", f"chain:{service}", WorkerHealth(f"chain sealer {service}"),
                         service=service)

    def lead(self, conn: psycopg.Connection, stop: threading.Event) -> None:
        conn.execute(CHAIN_DDL)
        conn.execute(RELAXED_DURABILITY)  # the chain is recomputed from the log after a lost commit
        recorder = self.app.recorder
        assert isinstance(recorder, PostgresApplicationRecorder)  # its commits NOTIFY this channel
        position, digest = self._chain_head(conn)
        count = self._sealed_count(conn)
        heads = HeadPublisher(self.settings)
        # A head the last leader may not have published yet: published at the next due time.
        heads.sealed(1 if position else 0)
        log.info("chain sealer leading", extra={"service": self.settings.service, "position": position})
        try:
            self._seal(conn, stop, recorder, position, digest, count, heads)
        finally:
            heads.close()

    def _seal(self, conn: psycopg.Connection, stop: threading.Event, recorder: PostgresApplicationRecorder,
              position: int, digest: bytes, count: int, heads: HeadPublisher) -> None:
        for batch in self.follow_log(conn, recorder, position, self.batch_size, self.idle_wait, stop,
                                     gather=TRAILING_GATHER):
            if heads.due():
                heads.publish(position, digest, count)
            if not batch:
                continue
            rows = []
            for n in batch:
                digest = record_digest(digest, n.id, n.originator_id, n.originator_version, n.topic, n.state)
                rows.append((n.id, digest))
            with conn.transaction(), conn.cursor() as cursor:
                cursor.executemany(f"INSERT INTO {CHAIN_TABLE} (notification_id, digest) VALUES (%s, %s)", rows)
            position = batch[-1].id
            count += len(rows)
            heads.sealed(len(rows))
            self.sealed += len(rows)
            _sealed_counter.add(len(rows), {"motcua.service": self.settings.service})
            self.health.working()

    @staticmethod
    def _sealed_count(conn: psycopg.Connection) -> int:
        row = conn.execute(f"SELECT count(*) FROM {CHAIN_TABLE}").fetchone()
        return row[0] if row else 0

    @staticmethod
    def _chain_head(conn: psycopg.Connection) -> tuple[int, bytes]:
        """The last sealed id and its digest (0 and the genesis digest for an empty chain)."""
        row = conn.execute(
            f"SELECT notification_id, digest FROM {CHAIN_TABLE} ORDER BY notification_id DESC LIMIT 1"
        ).fetchone()
        return (row[0], bytes(row[1])) if row else (0, GENESIS)
