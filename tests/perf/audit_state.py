"""The auditor API's state-at-a-time figure: a 1,000-event dossier's state at a past time, as
the kernel's ``AuditLog.aggregate_state`` answers it (authorization over every event folded in,
the audit index turning the time into a version, the events replayed through the dossiers'
own classes with personal fields masked). Also this process's CPU ms per query (PostgreSQL's
is not in it): steadier than the times on a busy machine.

The dossier is built through its real rules (submitted, received, then reassigned again and
again) and saved by the dossiers application on a database of its own; its audit index is
filled from the log as ``AuditIndexer`` fills it. Only the queries are timed: random past
times, one at a time, as an auditor asks them.
"""

from __future__ import annotations

import random
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg import sql

from motcua.dossiers.application.dossiers_application import DossiersApplication
from motcua.dossiers.application.views import PublishedVersion
from motcua.dossiers.domain.code_sequence import DossierCodeSequence
from motcua.dossiers.domain.dossier.aggregate import Dossier
from motcua.dossiers.domain.values import Applicant, Document
from motcua.kernel.audit_api import INDEX_DDL, INDEX_TABLE, AuditLog, index_row
from motcua.kernel.context import Actor, Grant, acting_as
from motcua.kernel.localtime import local_date

from .readmodels import TERMS

PROVINCE = "000.00.00.H56"
AGENCY = "000.00.12.H56"
EVENTS = 1000


class _ProvinceTree:
    """The bench's one agency under the province."""

    def is_within(self, eid: str, ancestor_eid: str) -> bool:
        return ancestor_eid in (eid, PROVINCE)

    def parent_of(self, eid: str) -> str | None:
        return "" if eid == PROVINCE else PROVINCE


def _dossier(office: DossiersApplication, start: datetime) -> Dossier:
    replica = office.replicate_procedure(PublishedVersion(
        uuid.uuid4(), "1.000003.000.00.00.H56", "Đăng ký khai sinh", AGENCY, 3, 1, terms=TERMS))
    office.save(replica)
    sequence = DossierCodeSequence.open(AGENCY, local_date(start))
    dossier = Dossier.submit(
        dossier_id=uuid.uuid4(), procedure_id=replica.id, procedure=replica, sequence=sequence, agency_id=AGENCY,
        applicant=Applicant(kind="citizen", full_name="Nguyễn Thị Hồng Nhung", identity_number="038190012345",
                            phone="0912345678"),
        channel="online", result_delivery="desk", documents=[Document("Tờ khai", 1, 0)], submitted_at=start)
    dossier.receive(start + timedelta(minutes=5), "desk-1", calendar=office.calendar_for(AGENCY, start))
    for n in range(EVENTS - dossier.version):
        dossier.assign(start + timedelta(minutes=10 + n), "head-1", f"officer-{n % 7}")
    office.save(sequence, dossier)
    return dossier


def index_events(dsn: str, office: DossiersApplication, limit: int) -> None:
    """The audit's index of the application's first ``limit`` events, as its indexer writes it."""
    notifications = office.recorder.select_notifications(start=1, limit=limit)
    with psycopg.connect(dsn, autocommit=True) as conn:
        for statement in INDEX_DDL:
            conn.execute(statement)
        with conn.cursor() as cursor:
            cursor.executemany(sql.SQL(
                "INSERT INTO {} (position, aggregate_id, version, event_type, record_time, actor, agency_id, "
                "trace_id) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING").format(
                sql.Identifier(INDEX_TABLE)), [index_row(office.mapper, n, n.id) for n in notifications])
        conn.execute(f"ANALYZE {INDEX_TABLE}")


def measure(settings: Any, queries: int = 200) -> dict:
    office = DossiersApplication(settings)
    try:
        with acting_as(Actor("bench-officer", AGENCY, ("administrator",), (Grant("administrator", AGENCY),))):
            dossier = _dossier(office, datetime(2026, 3, 2, 1, 30, tzinfo=UTC))
        if dossier.version != EVENTS:
            raise RuntimeError(f"the bench's dossier has {dossier.version} events, not {EVENTS}")
        dsn = (f"host={settings.eventstore_env['POSTGRES_HOST']} port={settings.eventstore_env['POSTGRES_PORT']} "
               f"dbname={settings.eventstore_env['POSTGRES_DBNAME']} user={settings.eventstore_env['POSTGRES_USER']} "
               f"password={settings.eventstore_env.get('POSTGRES_PASSWORD', '')}")
        index_events(dsn, office, EVENTS * 2)
        audit = AuditLog(office, _ProvinceTree())
        start, end = dossier.created_on, dossier.modified_on
        picked = [start + (end - start) * random.random() for _ in range(queries)]
        auditor = Actor("bench-auditor", PROVINCE, ("auditor",), (Grant("auditor", PROVINCE),))
        timings, versions = [], []
        with acting_as(auditor):
            audit.aggregate_state(str(dossier.id), at=end)  # the first call loads the domain's modules
            cpu_before = time.process_time()
            for moment in picked:
                began = time.perf_counter()
                found = audit.aggregate_state(str(dossier.id), at=moment)
                timings.append((time.perf_counter() - began) * 1000)
                versions.append(found.version)
            cpu_ms = (time.process_time() - cpu_before) * 1000 / len(picked)
    finally:
        office.close()
    timings.sort()
    return {"events": EVENTS, "queries": len(timings), "mean_version": round(statistics.mean(versions)),
            "state_at_time_p50_ms": round(statistics.median(timings), 2),
            "state_at_time_p95_ms": round(timings[int(len(timings) * 0.95) - 1], 2),
            "cpu_ms_per_query": round(cpu_ms, 2)}
