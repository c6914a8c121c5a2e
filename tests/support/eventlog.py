"""Reading a service's event log and relay position straight from PostgreSQL (for assertions)."""

from __future__ import annotations

from typing import Any

import psycopg


def count_events(dsn: str, table: str, originator_id: str, topic_suffix: str = "") -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            f"SELECT count(*) FROM {table} WHERE originator_id = %s AND topic LIKE %s",
            (originator_id, f"%{topic_suffix}"),
        ).fetchone()
    assert row is not None  # count(*) always answers
    return int(row[0])


def relay_caught_up(dsn: str, events_table: str, topic: str) -> bool:
    """True when the relay's saved position is at the end of the log."""
    with psycopg.connect(dsn) as conn:
        (last,) = _one_row(conn, f"SELECT coalesce(max(notification_id), 0) FROM {events_table}")
        (exists,) = _one_row(conn, "SELECT to_regclass('motcua_relay_position')")
        if exists is None:
            return last == 0
        row = conn.execute("SELECT position FROM motcua_relay_position WHERE topic = %s", (topic,)).fetchone()
    return (row[0] if row else 0) == last


def _one_row(conn: psycopg.Connection[tuple[Any, ...]], query: str) -> tuple[Any, ...]:
    """The row of a query that always answers one (an aggregate, a lookup)."""
    row = conn.execute(query).fetchone()
    assert row is not None
    return row
