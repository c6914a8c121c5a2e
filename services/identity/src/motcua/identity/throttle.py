"""Brute-force protection: failed logins counted per account and per source address.

The counters live in a table of the identity database, updated with one row lock per key,
so every replica sees the same counts. After ``free_failures`` failures a key must wait
before its next attempt, ``first_delay`` seconds doubled at every further failure up to
``max_delay``; at ``lockout_failures`` it is locked for ``lockout`` seconds. A key whose
last failure is older than ``reset_after`` starts again from zero; an account's success
clears its count (an address's is not cleared: one good login must not hide a spray).
Keys are keyed hashes: neither logins nor addresses are stored in the clear.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from psycopg.sql import SQL, Identifier


@dataclass(frozen=True)
class ThrottlePolicy:
    free_failures: int = 3
    lockout_failures: int = 10
    first_delay: float = 1.0  # seconds
    max_delay: float = 60.0
    lockout: float = 900.0
    reset_after: float = 43200.0

    def locked_until(self, failures: int, now: datetime) -> datetime | None:
        """Until when a key with this many consecutive failures has to wait (None: no wait)."""
        if failures >= self.lockout_failures:
            return now + timedelta(seconds=self.lockout)
        if failures > self.free_failures:
            delay = self.first_delay * 2 ** (failures - self.free_failures - 1)
            return now + timedelta(seconds=min(delay, self.max_delay))
        return None


class LoginThrottle:
    def __init__(self, datastore: Any, table: str) -> None:
        self.datastore = datastore
        self._table = Identifier(datastore.schema, table)
        self.create_statement = SQL(
            "CREATE TABLE IF NOT EXISTS {t} (key text PRIMARY KEY, failures integer NOT NULL, "
            "last_failure timestamptz NOT NULL, locked_until timestamptz)"
        ).format(t=self._table)

    def locked_until(self, keys: list[str], now: datetime) -> datetime | None:
        """The latest time any of ``keys`` is locked until, if later than ``now``."""
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                SQL("SELECT max(locked_until) AS until FROM {t} WHERE key = ANY(%s) AND locked_until > %s").format(
                    t=self._table), (keys, now))
            row = curs.fetchone()
        return row["until"] if row else None

    def record_failure(self, key: str, policy: ThrottlePolicy, now: datetime) -> datetime | None:
        """Counts a failure; returns until when the key must now wait (None: it need not)."""
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                SQL(
                    "INSERT INTO {t} AS t (key, failures, last_failure) VALUES (%(key)s, 1, %(now)s) "
                    "ON CONFLICT (key) DO UPDATE SET failures = CASE WHEN t.last_failure < %(stale)s "
                    "THEN 1 ELSE t.failures + 1 END, last_failure = %(now)s RETURNING failures"
                ).format(t=self._table),
                {"key": key, "now": now, "stale": now - timedelta(seconds=policy.reset_after)},
            )
            failures = curs.fetchone()["failures"]
            until = policy.locked_until(failures, now)
            curs.execute(SQL("UPDATE {t} SET locked_until = %s WHERE key = %s").format(t=self._table), (until, key))
        return until

    def clear(self, key: str) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(SQL("DELETE FROM {t} WHERE key = %s").format(t=self._table), (key,))
