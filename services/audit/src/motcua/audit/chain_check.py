"""Verifies a service's event log against its hash chain, straight from its database.

Recomputes every digest (``motcua.kernel.chain``) from the records of ``<service>_events`` in
notification-id order and compares each with the seal the service stored in ``motcua_chain``.
Both tables are read in one read-only, repeatable-read transaction, so a sealer appending
meanwhile does not change what is compared. The first position where they disagree is named,
with what happened there:

* ``edited``: the record is there, but its digest is not the one sealed (its state, topic or
  identity was changed, or the seal was);
* ``reordered``: the record there is one that was sealed at another position (rows swapped or
  renumbered);
* ``missing``: a sealed position has no record (deleted);
* ``inserted``: a record with no seal before the last seal (the records after the last seal are
  the unsealed tail: the sealer has not reached them yet, which is not a break).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql

from motcua.kernel.chain import GENESIS, record_digest
from motcua.kernel.sealer import CHAIN_TABLE

FETCH_ROWS = 5000


@dataclass(frozen=True)
class Break:
    position: int  # the notification id
    kind: str  # edited, reordered, missing, inserted
    detail: str


@dataclass(frozen=True)
class Outcome:
    verified: int  # records whose digest matched their seal
    head: int  # the last sealed notification id (0: nothing sealed)
    unsealed: int  # records after the last seal
    broken: Break | None


def stream_rows(conn: psycopg.Connection[Any], name: str, query: sql.Composed,
                params: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """The rows of ``query`` through a server-side cursor, a batch at a time."""
    # Binary rows: the states arrive as they are stored, with no hex to decode.
    with conn.cursor(name=name, binary=True) as cursor:
        cursor.itersize = FETCH_ROWS
        cursor.execute(query, params)
        while rows := cursor.fetchmany(FETCH_ROWS):
            yield from rows


# One position of the log beside its seal: (notification id, originator id (16 bytes), version,
# topic, state, sealed digest). The record's fields are None where a sealed position has no
# record; the digest is None where a record has no seal.
Row = tuple[int, Any, Any, Any, Any, Any]


def verify(conn: psycopg.Connection[Any], events_table: str, schema: str = "public",
           progress: Callable[[int], None] | None = None, digests_at: dict[int, bytes] | None = None) -> Outcome:
    """Walks the log and the chain together; ``progress`` is told each notification id reached.

    ``conn`` must be in a transaction (named cursors live in one)."""
    seals_table = sql.Identifier(schema, CHAIN_TABLE)
    last_row = conn.execute(sql.SQL("SELECT coalesce(max(notification_id), 0) FROM {}").format(seals_table)).fetchone()
    # The log and the chain side by side, one row per position present in either.
    rows = stream_rows(conn, "motcua_verify", sql.SQL(
        "SELECT notification_id, uuid_send(e.originator_id), e.originator_version, e.topic, e.state, c.digest "
        "FROM {} e FULL JOIN {} c USING (notification_id) ORDER BY notification_id"
    ).format(sql.Identifier(schema, events_table), seals_table))

    def seals() -> Iterator[tuple[Any, ...]]:
        return stream_rows(conn, "motcua_verify_origin", sql.SQL(
            "SELECT notification_id, digest FROM {} ORDER BY notification_id").format(seals_table))

    return walk(rows, last_row[0] if last_row else 0, seals, progress=progress, digests_at=digests_at)


def walk(rows: Iterator[Row], last_sealed: int, seals: Callable[[], Iterable[tuple[Any, ...]]],
         previous: bytes = GENESIS, progress: Callable[[int], None] | None = None,
         digests_at: dict[int, bytes] | None = None) -> Outcome:
    """Checks positions in order against their seals, from the digest ``previous`` sealed just
    before the first of them, up to ``last_sealed``. ``seals`` gives every (position, digest)
    of the same range again, in order: only read to tell a moved record from an edited one.
    ``digests_at``: its keys are positions whose recomputed digest is wanted (to check the
    checkpoints against); each verified one gets its digest as value."""
    start = previous
    verified = 0
    head = 0
    for row in rows:
        position, originator_id, version, topic, state, sealed = row
        if sealed is None:
            if position > last_sealed:  # the unsealed tail: every record left
                return Outcome(verified, head, 1 + sum(1 for _ in rows), None)
            return Outcome(verified, head, 0, Break(
                position, "inserted",
                f"event {_describe(row)} at position {position} has no seal, yet positions after it are sealed "
                f"(up to {last_sealed})"))
        if originator_id is None:
            return Outcome(verified, head, 0, Break(
                position, "missing", f"position {position} was sealed but has no event (deleted)"))
        digest = record_digest(previous, position, originator_id, version, topic, state)
        if digest != sealed:
            return Outcome(verified, head, 0, _mismatch(seals(), start, row))
        previous = digest
        verified += 1
        head = position
        if digests_at is not None and position in digests_at:
            digests_at[position] = digest
        if progress is not None:
            progress(position)
    return Outcome(verified, head, 0, None)


def _mismatch(seals: Iterable[tuple[Any, ...]], previous: bytes, event: Row) -> Break:
    """An edit, or a record that was sealed at another position (found by trying it at every
    sealed position against the digest sealed before that one)."""
    position, originator_id, version, topic, state = event[:5]
    for sealed_at, digest in seals:
        if sealed_at != position and record_digest(previous, sealed_at, originator_id, version, topic, state) == digest:
            return Break(position, "reordered",
                         f"position {position} holds event {_describe(event)}, which was sealed at position "
                         f"{sealed_at}")
        previous = digest
    return Break(position, "edited",
                 f"event {_describe(event)} at position {position} does not match its seal (changed since sealed)")


def _describe(event: tuple[Any, ...]) -> str:
    return f"{UUID(bytes=bytes(event[1]))} v{event[2]} ({event[3].rsplit(':', 1)[-1]})"
