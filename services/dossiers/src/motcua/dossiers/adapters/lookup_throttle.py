"""A token bucket per caller's address for the citizens' status lookup, in PostgreSQL.

The lookup needs no login, so it is what someone guessing codes and phone numbers would
hammer. Each address (an IPv6 one by its /64; the address as the kernel resolves it, see
client_address.py) has a bucket of ``burst`` calls refilled at ``per_minute``; one row,
updated under its row lock in one statement, so every replica draws from the same bucket.
Rows are keyed by an HMAC of the address with a secret key (addresses are not stored in
the clear, nor can the table be reversed by hashing every address); a bucket that has
refilled completely is the same as none, so such rows are purged now and then.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from psycopg.sql import SQL, Identifier

from motcua.kernel.client_address import throttle_bucket
from motcua.kernel.keyfiles import keyed_hash

PURGE_INTERVAL = timedelta(minutes=10)  # how often full buckets are looked for


class LookupThrottle:
    def __init__(self, datastore: Any, table: str, burst: int, per_minute: float, key: bytes) -> None:
        self.datastore = datastore
        self.burst = burst
        self.per_second = per_minute / 60.0
        self._hash_key = key
        self.table = Identifier(datastore.schema, table)
        self.create_statements = [
            SQL("CREATE TABLE IF NOT EXISTS {t} (key text PRIMARY KEY, tokens double precision NOT NULL, "
                "updated_at timestamptz NOT NULL, allowed boolean NOT NULL)").format(t=self.table),
            SQL("CREATE INDEX IF NOT EXISTS {i} ON {t} (updated_at)").format(
                i=Identifier(f"{table}_updated_at_idx"), t=self.table),
        ]
        self._next_purge: datetime | None = None

    def create_table(self) -> None:
        with self.datastore.transaction(commit=True) as curs:
            for statement in self.create_statements:
                curs.execute(statement)

    def key(self, source: str) -> str:
        return keyed_hash(self._hash_key, "dossiers/lookup", throttle_bucket(source))

    @property
    def seconds_per_call(self) -> float:
        """How long an empty bucket takes to hold one call again."""
        return 1.0 / self.per_second

    @property
    def refill_time(self) -> timedelta:
        """How long an empty bucket takes to be full again."""
        return timedelta(seconds=self.burst / self.per_second)

    def take(self, source: str, now: datetime) -> bool:
        """Takes one call from the source's bucket; False when it is empty."""
        self._purge_now_and_then(now)
        refill = "least(%(burst)s, b.tokens + greatest(0, extract(epoch FROM %(now)s - b.updated_at)) * %(rate)s)"
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                SQL(
                    "INSERT INTO {t} AS b (key, tokens, updated_at, allowed) "
                    "VALUES (%(key)s, %(burst)s - 1, %(now)s, true) "
                    "ON CONFLICT (key) DO UPDATE SET "
                    f"tokens = CASE WHEN {refill} >= 1 THEN {refill} - 1 ELSE {refill} END, "
                    f"allowed = {refill} >= 1, updated_at = greatest(b.updated_at, %(now)s) RETURNING allowed"
                ).format(t=self.table),
                {"key": self.key(source), "burst": float(self.burst), "rate": self.per_second, "now": now},
            )
            return bool(curs.fetchone()["allowed"])

    def purge(self, now: datetime) -> int:
        """Deletes the buckets that are full again by ``now``; returns how many."""
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(SQL("DELETE FROM {t} WHERE updated_at < %s").format(t=self.table), (now - self.refill_time,))
            return curs.rowcount

    def _purge_now_and_then(self, now: datetime) -> None:
        # Per process: replicas purging the same rows now and then is harmless.
        if self._next_purge is not None and now < self._next_purge:
            return
        self._next_purge = now + PURGE_INTERVAL
        self.purge(now)
