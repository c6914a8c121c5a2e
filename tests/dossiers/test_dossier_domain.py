"""The dossier and its code sequence, without any infrastructure."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest

from motcua.dossiers.domain.code_sequence import DossierCodeSequence
from motcua.dossiers.domain.dossier.aggregate import Dossier
from motcua.dossiers.domain.lifecycle import RECEIVED, SUBMITTED
from motcua.dossiers.domain.procedure_replica import ProcedureReplica
from motcua.dossiers.domain.values import (
    MAX_SEQUENCE,
    Applicant,
    Document,
    DossierCodesExhausted,
    DossierStateConflict,
    UnknownProcedure,
)
from motcua.kernel.errors import InvalidArgument
from motcua.kernel.localtime import local_date

AGENCY = "000.00.12.H56"
MONDAY_0800 = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)  # 08:00 in Vietnam
FRIDAY_1000 = datetime(2026, 1, 9, 3, 0, tzinfo=UTC)  # 10:00 in Vietnam


def replica(processing_days: int = 3) -> ProcedureReplica:
    return ProcedureReplica(
        procedure_id=uuid4(), code="1.001193.000.00.00.H56", name="Đăng ký khai sinh",
        agency_id="000.00.10.H56", processing_days=processing_days, procedure_version=3, version_number=2,
    )


def submit(sequence: DossierCodeSequence | None = None, at: datetime = MONDAY_0800, **overrides) -> Dossier:
    procedure = overrides.pop("procedure") if "procedure" in overrides else replica()
    fields: dict[str, Any] = {
        "dossier_id": uuid4(),
        "procedure_id": procedure.id if procedure else uuid4(),
        "procedure": procedure,
        "sequence": sequence or DossierCodeSequence.open(AGENCY, local_date(at)),
        "agency_id": AGENCY,
        "applicant": Applicant(kind="citizen", full_name=" Trần Văn Bình ", identity_number="079190012345"),
        "channel": "desk",
        "result_delivery": "postal",
        "documents": [Document("Tờ khai đăng ký khai sinh", 1, 0)],
        "submitted_at": at,
    }
    fields.update(overrides)
    return Dossier.submit(**fields)


def test_a_submitted_dossier_pins_the_procedure_version_and_takes_the_next_code():
    sequence = DossierCodeSequence.open(AGENCY, date(2026, 1, 5))
    first = submit(sequence)
    second = submit(sequence)
    assert (first.code, second.code) == ("000.00.12.H56-260105-0001", "000.00.12.H56-260105-0002")
    assert first.state == SUBMITTED
    assert (first.procedure_version, first.processing_days) == (2, 3)
    assert first.applicant.full_name == "Trần Văn Bình"
    assert [type(e).__name__ for e in sequence.collect_events()] == ["Opened", "Issued", "Issued"]


def test_a_dossier_pins_the_version_in_force_when_submitted():
    procedure_id = uuid4()
    v1_from = MONDAY_0800 - timedelta(days=30)
    procedure = ProcedureReplica(
        procedure_id=procedure_id, code="1.001193.000.00.00.H56", name="Đăng ký khai sinh", agency_id="000.00.10.H56",
        processing_days=3, procedure_version=2, version_number=1, effective_from=v1_from,
    )
    v2_from = MONDAY_0800 + timedelta(hours=1)
    assert procedure.update("1.001193.000.00.00.H56", "Đăng ký khai sinh (mới)", "000.00.10.H56", 5, 5, 2, v2_from, 1)
    assert not procedure.update(
        "1.001193.000.00.00.H56", "again", "000.00.10.H56", 5, 5, 2, v2_from, 1
    )  # seen: ignored
    sequence = DossierCodeSequence.open(AGENCY, local_date(MONDAY_0800))

    before = submit(sequence, at=MONDAY_0800, procedure=procedure)
    after = submit(sequence, at=v2_from + timedelta(minutes=1), procedure=procedure)
    assert (before.procedure_version, before.processing_days, before.procedure_name) == (1, 3, "Đăng ký khai sinh")
    assert (after.procedure_version, after.processing_days, after.procedure_name) == (2, 5, "Đăng ký khai sinh (mới)")
    assert procedure.in_force_at(v1_from - timedelta(seconds=1)) is None

    withdrawn_at = v2_from + timedelta(hours=2)
    assert procedure.withdraw(2, withdrawn_at, 6)
    with pytest.raises(UnknownProcedure):
        submit(sequence, at=withdrawn_at, procedure=procedure)
    assert [v["effective_until"] for v in procedure.versions] == [v2_from, withdrawn_at]


def test_a_sequence_is_one_per_agency_and_local_day():
    monday = DossierCodeSequence.id_for(AGENCY, date(2026, 1, 5))
    assert monday == DossierCodeSequence.id_for(AGENCY, date(2026, 1, 5))
    assert monday != DossierCodeSequence.id_for(AGENCY, date(2026, 1, 6))
    assert monday != DossierCodeSequence.id_for("000.00.13.H56", date(2026, 1, 5))
    assert DossierCodeSequence.open(AGENCY, date(2026, 1, 5)).id == monday


def test_a_sequence_of_another_day_or_agency_is_refused():
    with pytest.raises(ValueError):
        submit(DossierCodeSequence.open(AGENCY, date(2026, 1, 6)))
    with pytest.raises(ValueError):
        submit(DossierCodeSequence.open("000.00.13.H56", date(2026, 1, 5)))


def test_four_digits_run_out_after_9999():
    sequence = DossierCodeSequence.open(AGENCY, date(2026, 1, 5))
    for _ in range(MAX_SEQUENCE):
        sequence.issue(uuid4())
    with pytest.raises(DossierCodesExhausted):
        sequence.issue(uuid4())


def test_an_unknown_procedure_is_named():
    procedure_id = uuid4()
    with pytest.raises(UnknownProcedure, match=str(procedure_id)):
        submit(procedure_id=procedure_id, procedure=None)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"agency_id": "Sở Tư pháp"}, "agency_id"),
        ({"applicant": Applicant(kind="", full_name="A", identity_number="1")}, "applicant.kind"),
        ({"applicant": Applicant(kind="citizen", full_name="   ", identity_number="1")}, "applicant.full_name"),
        ({"applicant": Applicant(kind="citizen", full_name="A", identity_number=" ")}, "applicant.identity_number"),
        ({"channel": "fax"}, "channel"),
        ({"result_delivery": ""}, "result_delivery"),
        ({"documents": [Document("  ")]}, "documents[0].name"),
    ],
)
def test_invalid_submissions_name_their_field(overrides, field):
    sequence = DossierCodeSequence.open(AGENCY, date(2026, 1, 5))
    with pytest.raises(InvalidArgument) as error:
        submit(sequence, **overrides)
    assert [v.field for v in error.value.violations] == [field]
    assert sequence.last_number == 0  # no number taken


def test_reception_appoints_the_return_in_working_days_and_records_the_slip():
    dossier = submit(procedure=replica(processing_days=1), at=FRIDAY_1000,
                     sequence=DossierCodeSequence.open(AGENCY, date(2026, 1, 9)))
    dossier.receive(FRIDAY_1000, officer="officer-1", note="Đủ thành phần")
    assert dossier.state == RECEIVED
    # The statutory clock: the Nth working day after reception, at the end of working hours.
    assert dossier.appointed_return_at == datetime(2026, 1, 12, 10, 0, tzinfo=UTC)  # Monday 17:00
    received = dossier.collect_events()[-1]
    assert type(received).__name__ == "Received"
    assert (received.code, received.received_by, received.note) == (dossier.code, "officer-1", "Đủ thành phần")


def test_only_a_submitted_dossier_can_be_received():
    dossier = submit()
    dossier.receive(MONDAY_0800, officer="officer-1")
    with pytest.raises(DossierStateConflict, match="it is received") as error:
        dossier.receive(MONDAY_0800, officer="officer-2")
    assert error.value.current_state == RECEIVED
