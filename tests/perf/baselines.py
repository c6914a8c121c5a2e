"""The two baselines motcua's figures are compared with, on the same PostgreSQL server.

pgbench: single-row inserts (bigint identity + uuid + a bytea the size of a stored
event), one transaction each, from C clients -- what the server itself sustains.

eventsourcing: the library's own write path, a plain ``Application`` on
``eventsourcing.postgres``, threads each creating and saving one small
aggregate (one event, one transaction) at a time -- what any Python service
built on the library can at best reach from one process.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
import threading
import time
from uuid import UUID

import psycopg
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from motcua.devstack import Postgres

# About the size of a procedure's stored Published event (JSON state with its metadata).
PAYLOAD_BYTES = 400

_PGBENCH_DDL = """
DROP TABLE IF EXISTS bench_events;
CREATE TABLE bench_events (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    originator_id uuid NOT NULL UNIQUE,
    payload bytea NOT NULL
);
"""


def pgbench_insert(postgres: Postgres, clients: int, seconds: int) -> dict:
    """tps of one-row insert transactions, from pgbench's own report."""
    db = "bench_pgbench"
    postgres.create_database(db)
    conn = ["-h", postgres.host, "-p", str(postgres.port), "-U", postgres.user]
    subprocess.run([str(postgres.bindir / "psql"), *conn, "-q", "-X", "-v", "ON_ERROR_STOP=1", "-c", _PGBENCH_DDL, db],
                   check=True, capture_output=True)
    payload = "\\x" + "ab" * PAYLOAD_BYTES
    script = f"INSERT INTO bench_events (originator_id, payload) VALUES (gen_random_uuid(), '{payload}'::bytea);\n"
    with tempfile.NamedTemporaryFile("w", suffix=".sql") as f:
        f.write(script)
        f.flush()
        cmd = [str(postgres.bindir / "pgbench"), *conn, "-n", "-f", f.name,
               "-c", str(clients), "-j", str(min(clients, 2)), "-T", str(seconds), db]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    tps_line = re.search(r"tps = ([0-9.]+)", out)
    assert tps_line is not None, out
    tps = float(tps_line.group(1))
    latency = re.search(r"latency average = ([0-9.]+) ms", out)
    return {"clients": clients, "seconds": seconds, "tps": round(tps, 1),
            "latency_avg_ms": float(latency.group(1)) if latency else None}


class Note(Aggregate):
    """A small aggregate: created, saved, never touched again (one event)."""

    @event("Created")
    def __init__(self, code: str, name: str, agency_id: str, processing_days: int) -> None:
        self.code = code
        self.name = name
        self.agency_id = agency_id
        self.processing_days = processing_days


def eventsourcing_saves(postgres: Postgres, threads: int, seconds: float) -> dict:
    """Aggregates created and saved per second by a plain eventsourcing Application."""
    db = "bench_eventsourcing"
    postgres.create_database(db)
    app: Application[UUID] = Application(env={
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_HOST": postgres.host,
        "POSTGRES_PORT": str(postgres.port),
        "POSTGRES_DBNAME": db,
        "POSTGRES_USER": postgres.user,
        "POSTGRES_PASSWORD": postgres.password,
        "POSTGRES_POOL_SIZE": str(threads),
    })
    counts = [0] * threads
    stop = threading.Event()
    started = time.monotonic()

    def work(i: int) -> None:
        while not stop.is_set():
            app.save(Note(code=f"1.000000.{i}", name="Cấp giấy phép xây dựng nhà ở riêng lẻ",
                          agency_id="000.00.10.H56", processing_days=15))
            counts[i] += 1

    workers = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(threads)]
    try:
        app.save(Note(code="warm-up", name="", agency_id="", processing_days=1))  # tables, pool, prepared statements
        started = time.monotonic()
        for w in workers:
            w.start()
        time.sleep(seconds)
    finally:
        stop.set()
        for w in workers:
            if w.is_alive():
                w.join(timeout=30)
        elapsed = time.monotonic() - started
        app.close()
    return {"threads": threads, "seconds": round(elapsed, 2), "saved": sum(counts),
            "per_second": round(sum(counts) / elapsed, 1)}


def stored_event_size(dsn: str, table: str) -> int | None:
    """Average size of the stored state of the events in a service's table (for the record)."""
    with psycopg.connect(dsn) as conn:
        row = conn.execute(f"SELECT avg(length(state))::int FROM {table}").fetchone()
    return row[0] if row else None

