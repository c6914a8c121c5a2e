"""A desk's dossier numbers, taken from the sequence the service last saved rather than read from
the log each time, on the session's real PostgreSQL: no gap and no repeat when another replica
(or a draft submitted meanwhile) moved the sequence on."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from motcua.dossiers.application.dossiers_application import DossiersApplication
from motcua.dossiers.application.views import PublishedVersion, Submission
from motcua.dossiers.domain.code_sequence import DossierCodeSequence
from motcua.dossiers.domain.values import Applicant, Document
from motcua.kernel.context import Actor, Grant, acting_as
from tests.support.reads import counted_reads

AGENCY = "000.00.12.H56"
NOW = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def desk_officer():
    with acting_as(Actor(subject="officer-1", agency_id=AGENCY, roles=("desk_officer",),
                         grants=(Grant("desk_officer", AGENCY),))) as actor:
        yield actor


@pytest.fixture
def replicas(stack):
    """Two replicas of the application on one database of their own."""
    settings = stack.settings(f"d{uuid.uuid4().hex[:10]}")
    first = DossiersApplication(settings, clock=lambda: NOW)
    second = DossiersApplication(settings, clock=lambda: NOW)
    yield first, second
    second.close()
    first.close()


@pytest.fixture
def procedure_id(replicas) -> uuid.UUID:
    procedure_id = uuid.uuid4()
    app = replicas[0]
    app.save(app.replicate_procedure(
        PublishedVersion(procedure_id, "1.001193.000.00.00.H56", "Đăng ký khai sinh", "000.00.10.H56", 1, 2)))
    return procedure_id


def submission(procedure_id: uuid.UUID) -> Submission:
    return Submission(procedure_id=procedure_id, agency_id=AGENCY,
                      applicant=Applicant(kind="citizen", full_name="Lê Thị Thu Hà", identity_number="001190012345"),
                      channel="online", documents=(Document("Tờ khai đăng ký khai sinh", 1, 0),))


def sequence_reads(app: DossiersApplication, monkeypatch) -> list[uuid.UUID]:
    return counted_reads(app, DossierCodeSequence, monkeypatch)


def test_the_next_number_is_taken_without_reading_the_sequence_again(replicas, procedure_id, monkeypatch):
    app, _ = replicas
    reads = sequence_reads(app, monkeypatch)
    assert app.submit_dossier(submission(procedure_id)).code.endswith("-0001")
    assert len(reads) == 1
    codes = [app.submit_dossier(submission(procedure_id)).code for _ in range(12)]  # past a snapshot
    assert len(reads) == 1
    assert codes == [f"{AGENCY}-260105-{n:04d}" for n in range(2, 14)]


def test_replicas_taking_turns_number_without_a_gap_or_a_repeat(replicas, procedure_id):
    first, second = replicas
    codes = [(first if n % 2 else second).submit_dossier(submission(procedure_id)).code for n in range(1, 9)]
    assert codes == [f"{AGENCY}-260105-{n:04d}" for n in range(1, 9)]
    # Each replica's kept copy was behind the other's save: its save lost, and it read the log.
    assert first.submit_conflicts >= 3 and second.submit_conflicts >= 3


def test_a_draft_submitted_between_two_submissions_takes_the_number_between(replicas, procedure_id):
    app, _ = replicas
    assert app.submit_dossier(submission(procedure_id)).code.endswith("-0001")
    draft = app.create_draft(submission(procedure_id))
    assert app.submit_draft(draft.dossier_id).code.endswith("-0002")
    assert app.submit_dossier(submission(procedure_id)).code.endswith("-0003")
    assert app.submit_conflicts == 0
