"""The auditor API keeps the masked aggregates at its anchor versions decoded in memory: against
the real dossiers application on PostgreSQL, states read again once the audit's snapshots are
gone (so from memory) equal the states replayed from the events alone; an answer changed by its
caller changes no later answer; and what memory holds is the masked replay, with nothing of the
applicant in the clear, so that an erased person's data cannot come back through it."""

from __future__ import annotations

import pickle
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from eventsourcing.application import Repository
from eventsourcing.persistence import EventStore

from motcua.dossiers.application.dossiers_application import DossiersApplication
from motcua.dossiers.application.views import PublishedVersion
from motcua.dossiers.domain.code_sequence import DossierCodeSequence
from motcua.dossiers.domain.dossier.aggregate import Dossier
from motcua.dossiers.domain.values import Applicant, Document
from motcua.kernel.audit_api import (
    SNAPSHOT_EVERY,
    SNAPSHOTS_TABLE,
    AuditLog,
    DecodedAnchors,
    masking_mapper,
    plain_state,
)
from motcua.kernel.context import Actor, Grant, acting_as
from motcua.kernel.localtime import local_date
from motcua.kernel.subject_keys import MASKED
from tests.perf import audit_state as bench
from tests.perf.readmodels import TERMS

DATABASE = "motcua_audit_anchors_test"
NAME, NUMBER = "Nguyễn Thị Hồng Nhung", "038190012345"
OFFICER = Actor("officer", bench.AGENCY, ("administrator",), (Grant("administrator", bench.AGENCY),))
PROVINCE = Actor("auditor", bench.PROVINCE, ("auditor",), (Grant("auditor", bench.PROVINCE),))


def _dossier(office: DossiersApplication, start: datetime, events: int) -> Dossier:
    """The benchmark's dossier (submitted, received, reassigned again and again), its applicant
    identified as the service identifies them, so that their fields are sealed under their key."""
    replica = office.replicate_procedure(PublishedVersion(
        uuid.uuid4(), "1.000003.000.00.00.H56", "Đăng ký khai sinh", bench.AGENCY, 3, 1, terms=TERMS))
    office.save(replica)
    sequence = DossierCodeSequence.open(bench.AGENCY, local_date(start))
    applicant = office.subjects.identified(Applicant(kind="citizen", full_name=NAME, identity_number=NUMBER,
                                                     phone="0912345678"))
    with acting_as(OFFICER):
        dossier = Dossier.submit(
            dossier_id=uuid.uuid4(), procedure_id=replica.id, procedure=replica, sequence=sequence,
            agency_id=bench.AGENCY, applicant=applicant, channel="online", result_delivery="desk",
            documents=[Document("Tờ khai", 1, 0)], submitted_at=start)
        dossier.receive(start + timedelta(minutes=5), "desk-1", calendar=office.calendar_for(bench.AGENCY, start))
        for n in range(events - dossier.version):
            dossier.assign(start + timedelta(minutes=10 + n), "head-1", f"officer-{n % 7}")
        office.save(sequence, dossier)
    return dossier


@pytest.fixture(scope="module")
def office(stack):
    stack.postgres.create_database(DATABASE)
    office = DossiersApplication(stack.settings("dossiers", POSTGRES_DBNAME=DATABASE))
    yield office
    office.close()


def test_states_from_the_anchors_in_memory_equal_the_states_from_the_events(stack, office):
    dossier = _dossier(office, datetime(2026, 3, 2, 1, 30, tzinfo=UTC), 3 * SNAPSHOT_EVERY + 5)
    bench.index_events(stack.postgres.dsn(DATABASE), office, 500)
    audit = AuditLog(office, bench._ProvinceTree())
    versions = [SNAPSHOT_EVERY + 3, 2 * SNAPSHOT_EVERY, 3 * SNAPSHOT_EVERY + 4, SNAPSHOT_EVERY + 7, 5]
    events_only = Repository(event_store=EventStore(masking_mapper(office.mapper), office.recorder))
    expected = [plain_state(events_only.get(dossier.id, version=v)) for v in versions]
    with acting_as(PROVINCE):
        first = [audit.aggregate_state(str(dossier.id), v) for v in versions]
        for answer in first:  # a caller's changes to its answer reach no later answer
            answer.state["handovers"].append({"kind": "forged"})
            answer.state["state"] = "forged"
        with psycopg.connect(stack.postgres.dsn(DATABASE), autocommit=True) as conn:
            conn.execute(f"DELETE FROM {SNAPSHOTS_TABLE}")
        second = [audit.aggregate_state(str(dossier.id), v) for v in versions]
    assert [s.version for s in second] == versions
    assert [s.state for s in second] == expected
    assert expected[0]["applicant_data"]["full_name"] == MASKED


def test_the_anchors_in_memory_hold_no_applicant_data_and_an_erased_applicant_stays_masked(office):
    dossier = _dossier(office, datetime(2026, 3, 3, 1, 30, tzinfo=UTC), 2 * SNAPSHOT_EVERY + 5)
    assert office.repository.get(dossier.id).applicant_data["full_name"] == NAME  # sealed, and open to the service
    audit = AuditLog(office, bench._ProvinceTree())
    version = 2 * SNAPSHOT_EVERY + 1
    with acting_as(PROVINCE):
        before = audit.aggregate_state(str(dossier.id), version).state
    kept = b"".join(audit._anchors._kept.values())
    assert kept and not any(secret.encode() in kept for secret in (NAME, NUMBER))
    assert office.subject_keys.destroy(dossier.applicant_data["subject_id"], "officer", "erasure test")
    with acting_as(PROVINCE):
        after = audit.aggregate_state(str(dossier.id), version).state
    assert after == before
    assert (after["applicant_data"]["full_name"], after["applicant_data"]["identity_number"]) == (MASKED, MASKED)


def test_the_anchors_stay_within_their_budget_dropping_the_least_recently_used():
    anchors = DecodedAnchors(budget=3 * len(pickle.dumps({"n": 0, "pad": "x" * 100})))
    for n in range(5):
        anchors.put(uuid.UUID(int=n), 20, {"n": n, "pad": "x" * 100})
        anchors.get(uuid.UUID(int=0), 20)  # the first one, read each time, stays
    assert [anchors.get(uuid.UUID(int=n), 20) is not None for n in range(5)] == [True, False, False, True, True]
    copy = anchors.get(uuid.UUID(int=4), 20)
    copy["n"] = -1
    assert anchors.get(uuid.UUID(int=4), 20)["n"] == 4
