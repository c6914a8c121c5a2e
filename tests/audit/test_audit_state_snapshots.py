"""The auditor API's state replays start from the audit's own snapshots: against the real
dossiers application on PostgreSQL, a state read twice (the second time from a snapshot taken
by the first) equals the state replayed from the events alone with the same masking mapper
(the snapshots are taken of that masked replay; that sealed fields read masked is shown by
test_audit_state through the real service)."""

from __future__ import annotations

import psycopg
from eventsourcing.application import Repository
from eventsourcing.persistence import EventStore

from motcua.dossiers.application.dossiers_application import DossiersApplication
from motcua.kernel.audit_api import (
    SNAPSHOT_EVERY,
    SNAPSHOTS_TABLE,
    AuditLog,
    masking_mapper,
    plain_state,
)
from motcua.kernel.context import Actor, Grant, acting_as
from tests.perf import audit_state as bench


def test_a_state_from_a_snapshot_equals_the_state_from_the_events(stack, monkeypatch):
    monkeypatch.setattr(bench, "EVENTS", 3 * SNAPSHOT_EVERY + 5)
    settings = stack.settings("dossiers", POSTGRES_DBNAME="motcua_audit_snapshots_test")
    stack.postgres.create_database("motcua_audit_snapshots_test")
    office = DossiersApplication(settings)
    try:
        with acting_as(Actor("officer", bench.AGENCY, ("administrator",), (Grant("administrator", bench.AGENCY),))):
            dossier = bench._dossier(office, bench.datetime(2026, 3, 2, 1, 30, tzinfo=bench.UTC))
        bench.index_events(stack.postgres.dsn("motcua_audit_snapshots_test"), office, 500)
        audit = AuditLog(office, bench._ProvinceTree())
        province = Actor("auditor", bench.PROVINCE, ("auditor",), (Grant("auditor", bench.PROVINCE),))
        versions = [SNAPSHOT_EVERY + 3, 2 * SNAPSHOT_EVERY, 3 * SNAPSHOT_EVERY + 4, SNAPSHOT_EVERY + 7]
        with acting_as(province):
            first = [audit.aggregate_state(str(dossier.id), v) for v in versions]
            with psycopg.connect(stack.postgres.dsn("motcua_audit_snapshots_test")) as conn:
                kept = conn.execute(f"SELECT originator_version, convert_from(state, 'UTF8') FROM {SNAPSHOTS_TABLE} "
                                    "WHERE originator_id = %s ORDER BY 1", (dossier.id,)).fetchall()
            second = [audit.aggregate_state(str(dossier.id), v) for v in versions]
        assert [v for v, _ in kept] == [SNAPSHOT_EVERY, 2 * SNAPSHOT_EVERY, 3 * SNAPSHOT_EVERY]
        events_only = Repository(event_store=EventStore(masking_mapper(office.mapper), office.recorder))
        expected = [plain_state(events_only.get(dossier.id, version=v)) for v in versions]
        assert [s.version for s in first] == [s.version for s in second] == versions
        assert [s.state for s in first] == [s.state for s in second] == expected
    finally:
        office.close()
