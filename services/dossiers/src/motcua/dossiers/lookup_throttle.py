"""A token bucket per source address for the citizens' status lookup, in PostgreSQL.

The lookup needs no login, so it is what someone guessing codes and phone numbers would
hammer. Each address (a keyed hash of it: addresses are not stored in the clear) has a
bucket of ``burst`` calls refilled at ``per_minute``; one row, updated under its row lock
in one statement, so every replica draws from the same bucket.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from psycopg.sql import SQL, Identifier


class LookupThrottle:
    def __init__(self, datastore: Any, table: str, burst: int, per_minute: float) -> None:
        self.datastore = datastore
        self.burst = burst
        self.per_second = per_minute / 60.0
        self._table = Identifier(datastore.schema, table)
        self.create_statement = SQL(
            "CREATE TABLE IF NOT EXISTS {t} (key text PRIMARY KEY, tokens double precision NOT NULL, "
            "updated_at timestamptz NOT NULL, allowed boolean NOT NULL)"
        ).format(t=self._table)

    def create_table(self) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(self.create_statement)

    @staticmethod
    def key(source: str) -> str:
        return hashlib.sha256(f"motcua/dossiers/lookup/{source}".encode()).hexdigest()

    def take(self, source: str, now: datetime) -> bool:
        """Takes one call from the source's bucket; False when it is empty."""
        refill = "least(%(burst)s, b.tokens + greatest(0, extract(epoch FROM %(now)s - b.updated_at)) * %(rate)s)"
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(SQL(
                "INSERT INTO {t} AS b (key, tokens, updated_at, allowed) VALUES (%(key)s, %(burst)s - 1, %(now)s, true) "
                f"ON CONFLICT (key) DO UPDATE SET tokens = CASE WHEN {refill} >= 1 THEN {refill} - 1 ELSE {refill} END, "
                f"allowed = {refill} >= 1, updated_at = greatest(b.updated_at, %(now)s) RETURNING allowed"
            ).format(t=self._table), {"key": self.key(source), "burst": float(self.burst), "rate": self.per_second, "now": now})
            return bool(curs.fetchone()["allowed"])
