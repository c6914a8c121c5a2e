"""The chain verification figures: events/s that `motcua-audit verify --live` recomputes and
compares, on a sealed log of its own, and that `motcua-audit verify BUNDLE` checks offline in
the same log exported to a bundle.

The log is written straight with SQL (a procedures-shaped events table, each state a JSON
document of the size given, with `_meta`), sealed with the kernel's digest in one pass, then
verified by the audit tool's own function (``chain_check.verify``, what the CLI runs), in one
read-only repeatable-read transaction as the CLI does; then exported with ``bundle.export_log``
and the bundle checked with ``bundle.check_bundle``. Only the verifications are timed.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import psycopg
from psycopg import sql

from motcua.audit.bundle import check_bundle, export_log, write_bundle
from motcua.audit.chain_check import verify
from motcua.kernel.chain import GENESIS, record_digest
from motcua.kernel.sealer import CHAIN_DDL, CHAIN_TABLE

TABLE = "procedures_events"
TOPIC = "motcua.procedures.domain:Procedure.Published"


def measure(postgres, dbname: str, events: int, state_bytes: int) -> dict:
    postgres.create_database(dbname)
    dsn = postgres.dsn(dbname)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}, {}").format(sql.Identifier(TABLE), sql.Identifier(CHAIN_TABLE)))
        conn.execute(sql.SQL(
            "CREATE TABLE {} (originator_id uuid NOT NULL, originator_version bigint NOT NULL, topic text, "
            "state bytea, notification_id bigserial, PRIMARY KEY (originator_id, originator_version))"
        ).format(sql.Identifier(TABLE)))
        conn.execute(sql.SQL("CREATE UNIQUE INDEX ON {} (notification_id)").format(sql.Identifier(TABLE)))
        padding = max(0, state_bytes - 120)
        conn.execute(sql.SQL(
            "INSERT INTO {} (originator_id, originator_version, topic, state) "
            "SELECT gen_random_uuid(), 1, %s, convert_to(json_build_object("
            "  'name', 'Đăng ký khai sinh ' || i, 'note', repeat('x', %s),"
            "  '_meta', json_build_object('actor', 'officer-1', 'agency_id', '000.00.10.H56'))::text, 'UTF8') "
            "FROM generate_series(1, %s) AS i"
        ).format(sql.Identifier(TABLE)), (TOPIC, padding, events))
        conn.execute(CHAIN_DDL)
        conn.execute(f"ANALYZE {TABLE}")
        digest = GENESIS
        with conn.cursor(name="seal") as rows, conn.transaction(), psycopg.connect(dsn) as writer:
            rows.execute(sql.SQL(
                "SELECT notification_id, uuid_send(originator_id), originator_version, topic, state "
                "FROM {} ORDER BY notification_id").format(sql.Identifier(TABLE)))
            with writer.cursor().copy(f"COPY {CHAIN_TABLE} (notification_id, digest) FROM STDIN") as copy:
                for position, originator, version, topic, state in rows:
                    digest = record_digest(digest, position, bytes(originator), version, topic, bytes(state))
                    copy.write_row((position, digest))
    with psycopg.connect(dsn, options="-c default_transaction_read_only=on") as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        began = time.perf_counter()
        outcome = verify(conn, TABLE)
        seconds = time.perf_counter() - began
        if outcome.broken is not None or outcome.verified != events:
            raise RuntimeError(f"the bench's own chain did not verify: {outcome}")
        with tempfile.TemporaryDirectory() as scratch:
            bundle = Path(scratch) / "bench.tar"
            write_bundle(bundle, [("procedures", lambda out: export_log(conn, "procedures", TABLE, out))])
            began = time.perf_counter()
            [checked] = check_bundle(bundle)
            bundle_seconds = time.perf_counter() - began
    if checked.outcome.broken is not None or checked.outcome.verified != events:
        raise RuntimeError(f"the bench's own bundle did not verify: {checked.outcome}")
    return {"events": events, "state_bytes": state_bytes, "verify_s": round(seconds, 3),
            "verify_events_per_s": round(events / seconds),
            "bundle_verify_events_per_s": round(events / bundle_seconds)}
