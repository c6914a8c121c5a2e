"""Brute-force protection that costs the attacker, not the account's owner.

Failed logins are counted under three keys, each a keyed hash (HMAC-SHA256 with the lookup
key, storekeys.py): neither logins, account ids nor addresses are stored in the clear.

- the pair (account, address): the one that locks. After ``free_failures`` failures the pair
  must wait before its next attempt, ``first_delay`` seconds doubled at every further failure
  up to ``max_delay``; at ``lockout_failures`` it is locked for ``lockout`` seconds. Someone
  guessing a known account's password from their address locks themselves out, not the owner
  logging in from elsewhere. A success clears it.
- the account, from every address: a distributed guess (many addresses) only makes new
  addresses wait, growing delays without a lockout; never cleared by a success (one good login
  must not hide a spray), it decays after ``reset_after`` without failures.
- the address (an IPv6 address by its /64), over every account: a spray from one address
  waits, then locks that address; likewise never cleared by a success.

An address the account has logged in from before (a known pair) is exempt from the account's
and the address's counts: its owner is not punished for other people's failures. Only the
pair's own count applies to it.

The counters live in tables of the identity database, updated with one row lock per key, so
every replica sees the same counts. Rows of failures older than ``reset_after`` and known
pairs not seen for ``known_for`` are purged (``purge``, run every ``PURGE_INTERVAL``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from psycopg.sql import SQL, Identifier


@dataclass(frozen=True)
class ThrottlePolicy:
    free_failures: int = 3
    lockout_failures: int | None = 10  # None: growing delays only, never a lockout
    first_delay: float = 1.0  # seconds
    max_delay: float = 60.0
    lockout: float = 900.0
    reset_after: float = 43200.0

    def locked_until(self, failures: int, now: datetime) -> datetime | None:
        """Until when a key with this many consecutive failures has to wait (None: no wait)."""
        if self.lockout_failures is not None and failures >= self.lockout_failures:
            return now + timedelta(seconds=self.lockout)
        if failures > self.free_failures:
            # Capped before exponentiation: a long spray must not overflow the float.
            delay = self.first_delay * 2 ** min(failures - self.free_failures - 1, 32)
            return now + timedelta(seconds=min(delay, self.max_delay))
        return None


# The defaults of the three keys a failed sign-in counts against (see Authentication).
DEFAULT_ACCOUNT_POLICY = ThrottlePolicy()
DEFAULT_SOURCE_POLICY = ThrottlePolicy(free_failures=20, lockout_failures=100)
DEFAULT_SPREAD_POLICY = ThrottlePolicy(free_failures=20, lockout_failures=None)


class LoginThrottle:
    def __init__(self, datastore: Any, table: str) -> None:
        self.datastore = datastore
        self.table = Identifier(datastore.schema, table)
        self.known_table = Identifier(datastore.schema, f"{table}_known")
        self.create_statements = [
            SQL("CREATE TABLE IF NOT EXISTS {t} (key text PRIMARY KEY, failures integer NOT NULL, "
                "last_failure timestamptz NOT NULL, locked_until timestamptz)").format(t=self.table),
            SQL("CREATE INDEX IF NOT EXISTS {i} ON {t} (last_failure)").format(
                i=Identifier(f"{table}_last_failure_idx"), t=self.table),
            SQL("CREATE TABLE IF NOT EXISTS {t} (key text PRIMARY KEY, last_success timestamptz NOT NULL)").format(
                t=self.known_table),
            SQL("CREATE INDEX IF NOT EXISTS {i} ON {t} (last_success)").format(
                i=Identifier(f"{table}_known_last_success_idx"), t=self.known_table),
        ]

    def locked_until(self, keys: list[str], now: datetime) -> datetime | None:
        """The latest time any of ``keys`` is locked until, if later than ``now``."""
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                SQL("SELECT max(locked_until) AS until FROM {t} WHERE key = ANY(%s) AND locked_until > %s").format(
                    t=self.table), (keys, now))
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
                ).format(t=self.table),
                {"key": key, "now": now, "stale": now - timedelta(seconds=policy.reset_after)},
            )
            failures = curs.fetchone()["failures"]
            until = policy.locked_until(failures, now)
            curs.execute(SQL("UPDATE {t} SET locked_until = %s WHERE key = %s").format(t=self.table), (until, key))
        return until

    def clear(self, key: str) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(SQL("DELETE FROM {t} WHERE key = %s").format(t=self.table), (key,))

    def is_known(self, key: str, since: datetime) -> bool:
        """Whether the pair ``key`` logged in successfully after ``since``."""
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(SQL("SELECT 1 FROM {t} WHERE key = %s AND last_success >= %s").format(t=self.known_table),
                         (key, since))
            return curs.fetchone() is not None

    def remember(self, key: str, now: datetime) -> None:
        """Records a successful login of the pair ``key``."""
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                SQL(
                    "INSERT INTO {t} (key, last_success) VALUES (%(key)s, %(now)s) ON CONFLICT (key) "
                    "DO UPDATE SET last_success = greatest({t}.last_success, %(now)s)"
                ).format(t=self.known_table),
                {"key": key, "now": now},
            )

    def purge(self, failures_before: datetime, known_before: datetime, now: datetime) -> int:
        """Deletes counts whose last failure is older than ``failures_before`` (and no longer
        locked) and known pairs last seen before ``known_before``; returns how many rows."""
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(SQL("DELETE FROM {t} WHERE last_failure < %s AND (locked_until IS NULL OR locked_until <= %s)")
                         .format(t=self.table), (failures_before, now))
            deleted = curs.rowcount
            curs.execute(SQL("DELETE FROM {t} WHERE last_success < %s").format(t=self.known_table), (known_before,))
            return deleted + curs.rowcount
