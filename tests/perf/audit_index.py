"""The auditor API's figure: a dossier's history by its code, at a log of a given size, as the
kernel's ``AuditLog.list_events`` answers it (authorization, code lookup, index range, the
events decoded), on a log of its own.

The log is written straight with SQL (a dossiers-shaped events table: aggregates of five
events each, every state a JSON document with ``_meta`` and a timestamp), and its audit index
is filled with SQL from it, as ``AuditIndexer`` would have filled it row by row; a table of
codes stands in for the dossier register. Only the queries are timed: random codes, one at a
time, as an auditor asks them.
"""

from __future__ import annotations

import statistics
import time
from types import SimpleNamespace
from uuid import UUID

import psycopg
from eventsourcing.persistence import DatetimeAsISO, DecimalAsStr, JSONTranscoder, UUIDAsHex
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from psycopg import sql

from motcua.kernel.audit_api import INDEX_DDL, INDEX_TABLE, AuditLog, EventFilters
from motcua.kernel.context import Actor, Grant, acting_as
from motcua.kernel.eventstore import EventMapper

TABLE = "dossiers_events"
TOPIC = "motcua.dossiers.domain.dossier.aggregate:Dossier.Received"
VERSIONS = 5  # events per dossier
PROVINCE = "000.00.00.H56"


class _RootTree:
    """Every agency of the bench under the province."""

    def is_within(self, eid: str, ancestor_eid: str) -> bool:
        return ancestor_eid in (eid, PROVINCE)

    def parent_of(self, eid: str) -> str | None:
        return "" if eid == PROVINCE else PROVINCE


def measure(postgres, dbname: str, events: int, queries: int = 200) -> dict:
    postgres.create_database(dbname)
    dsn = postgres.dsn(dbname)
    dossiers = events // VERSIONS
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}, {}, bench_codes").format(
            sql.Identifier(TABLE), sql.Identifier(INDEX_TABLE)))
        conn.execute(sql.SQL(
            "CREATE TABLE {} (originator_id uuid NOT NULL, originator_version bigint NOT NULL, topic text, "
            "state bytea, notification_id bigserial, PRIMARY KEY (originator_id, originator_version))"
        ).format(sql.Identifier(TABLE)))
        conn.execute(sql.SQL("CREATE UNIQUE INDEX ON {} (notification_id)").format(sql.Identifier(TABLE)))
        conn.execute("CREATE TABLE bench_codes (code text PRIMARY KEY, dossier_id uuid NOT NULL)")
        conn.execute("INSERT INTO bench_codes SELECT '000.00.' || lpad((d %% 90 + 10)::text, 2, '0') || "
                     "'.H56-261121-' || lpad(d::text, 7, '0'), gen_random_uuid() FROM generate_series(1, %s) d",
                     (dossiers,))
        # Versions interleaved over the dossiers, as a busy office's log is.
        conn.execute(sql.SQL(
            "INSERT INTO {} (originator_id, originator_version, topic, state) "
            "SELECT c.dossier_id, v, %s, convert_to(json_build_object("
            "  'note', 'Hồ sơ đăng ký khai sinh ' || c.code, 'timestamp', "
            "  json_build_object('_type_', 'datetime_iso', '_data_', "
            "    to_char(now() + (v * %s + n) * interval '1 ms', 'YYYY-MM-DD\"T\"HH24:MI:SS.US+00:00')),"
            "  '_meta', json_build_object('actor', 'officer-' || (n %% 50), 'agency_id', substr(c.code, 1, 13)))::text,"
            "  'UTF8') "
            "FROM generate_series(1, %s) v, "
            "(SELECT row_number() OVER () AS n, code, dossier_id FROM bench_codes) c ORDER BY v, c.n"
        ).format(sql.Identifier(TABLE)), (TOPIC, dossiers, VERSIONS))
        for statement in INDEX_DDL:
            conn.execute(statement)
        conn.execute(sql.SQL(
            "INSERT INTO {i} SELECT notification_id, originator_id, originator_version, 'Dossier.Received', "
            "(convert_from(state, 'UTF8')::json -> 'timestamp' ->> '_data_')::timestamptz, "
            "convert_from(state, 'UTF8')::json -> '_meta' ->> 'actor', "
            "convert_from(state, 'UTF8')::json -> '_meta' ->> 'agency_id', '' FROM {t}"
        ).format(i=sql.Identifier(INDEX_TABLE), t=sql.Identifier(TABLE)))
        conn.execute(f"ANALYZE {TABLE}")
        conn.execute(f"ANALYZE {INDEX_TABLE}")
        codes = [row[0] for row in conn.execute(
            "SELECT code FROM bench_codes ORDER BY random() LIMIT %s", (queries,)).fetchall()]
    datastore = PostgresDatastore(dbname=dbname, host=postgres.host, port=str(postgres.port), user=postgres.user,
                                  password=postgres.password, pool_size=2)
    try:
        transcoder = JSONTranscoder()
        for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
            transcoder.register(transcoding)
        recorder = PostgresApplicationRecorder(datastore, events_table_name=TABLE)
        app = SimpleNamespace(recorder=recorder, mapper=EventMapper(transcoder=transcoder),
                              settings=SimpleNamespace(service="dossiers"))

        def dossier_of(code: str) -> UUID | None:
            with datastore.get_connection() as conn, conn.cursor() as cursor:
                cursor.execute("SELECT dossier_id FROM bench_codes WHERE code = %s", (code,))
                row = cursor.fetchone()
                return row["dossier_id"] if row else None

        audit = AuditLog(app, _RootTree(), aggregate_of_code=dossier_of)  # type: ignore[arg-type]

        auditor = Actor("bench-auditor", PROVINCE, ("auditor",), (Grant("auditor", PROVINCE),))
        timings = []
        with acting_as(auditor):
            for code in codes:
                began = time.perf_counter()
                found, _ = audit.list_events(EventFilters(dossier_code=code), 0, "")
                timings.append((time.perf_counter() - began) * 1000)
                if len(found) != VERSIONS:
                    raise RuntimeError(f"the bench's dossier {code} has {len(found)} events, not {VERSIONS}")
    finally:
        datastore.close()
    timings.sort()
    return {"events": events, "queries": len(timings), "history_by_code_p50_ms": round(statistics.median(timings), 2),
            "history_by_code_p95_ms": round(timings[int(len(timings) * 0.95) - 1], 2)}
