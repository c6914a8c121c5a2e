"""Due dates through the dossiers application (in-process on the session's PostgreSQL, with a
set clock): the pinned processing time on the agency's published calendar, the cut-off,
pauses for supplements with the resume and restart rules, the explanation, and the
deadline watch flagging a dossier coming due and overdue once, across two replicas."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from motcua.dossiers.adapters.calendar_copies import CalendarCopies
from motcua.dossiers.application.dossiers_application import DossiersApplication
from motcua.dossiers.application.views import PublishedVersion, Submission
from motcua.dossiers.domain.values import Applicant, Document
from motcua.dossiers.workers.deadline_watch import DeadlineWatch
from motcua.kernel.context import Actor, acting_as
from motcua.kernel.errors import VersionConflict

from .test_dossiers_application import Clock

VN = ZoneInfo("Asia/Ho_Chi_Minh")
AGENCY = "000.00.21.H56"
CALENDAR_2026 = {
    "timezone": "Asia/Ho_Chi_Minh",
    "weekend": ["saturday", "sunday"],
    "working_hours": [{"start": "07:30", "end": "11:30"}, {"start": "13:30", "end": "17:00"}],
    "reception_cutoff": "15:00",
    "holidays": [{"date": f"2026-02-{d}", "name": "Tết Nguyên đán"} for d in range(16, 21)]
    + [
        {"date": "2026-08-31", "name": "Nghỉ Quốc khánh (hoán đổi)"},
        {"date": "2026-09-01", "name": "Quốc khánh"},
        {"date": "2026-09-02", "name": "Quốc khánh"},
    ],
    "makeup_working_days": [{"date": "2026-08-22", "name": "Làm bù cho ngày 31/8"}],
}


def vn(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=VN)


@pytest.fixture
def clock() -> Clock:
    return Clock(vn(2026, 1, 5, 8, 0))


@pytest.fixture
def office(stack, clock):
    app = DossiersApplication(stack.settings(f"d{uuid.uuid4().hex[:10]}"), clock=clock)
    with acting_as(
        Actor(
            subject="officer-1", agency_id=AGENCY, roles=("desk_officer", "specialist", "department_head", "applicant")
        )
    ):
        yield app
    app.close()


def publish(office: DossiersApplication, days: int, rule: str = "resume") -> uuid.UUID:
    procedure_id = uuid.uuid4()
    terms = {
        "processing_time": {"value": days, "unit": "working_days"},
        "required_documents": [{"name": "Tờ khai", "originals": 1, "copies": 0}],
        "steps": [{"name": "Thẩm định", "role": "specialist", "unit": "Phòng Tư pháp", "share": 0.5},
                  {"name": "Trả kết quả", "role": "desk_officer", "unit": "Bộ phận một cửa", "share": 0.5}],
        "supplement_rule": rule,
    }
    published = PublishedVersion(procedure_id, "1.000001.000.00.00.H56", "Cấp phép", AGENCY, days, 2, terms=terms)
    office.save(office.replicate_procedure(published))
    office.save(CalendarCopies(office).replicate_calendar(uuid.uuid4(), AGENCY, 2026, 3, CALENDAR_2026))
    return procedure_id


def received_at(office: DossiersApplication, clock: Clock, procedure_id: uuid.UUID, at: datetime):
    clock.now = at
    submitted = office.submit_dossier(Submission(
        procedure_id=procedure_id, agency_id=AGENCY, channel="desk",
        applicant=Applicant(kind="citizen", full_name="Đỗ Thị Ngọc Ánh", identity_number="038190001234"),
        documents=(Document("Tờ khai", 1, 0),),
    ))
    return office.receive_dossier(submitted.dossier_id)


@pytest.mark.parametrize(
    ("case", "days", "at", "due"),
    [
        ("Tết: a week of holidays between weekends is skipped", 3, vn(2026, 2, 13, 10, 0), vn(2026, 2, 25, 17, 0)),
        (
            "after the 15:00 cut-off, the next working day is the reception day",
            3,
            vn(2026, 2, 13, 15, 30),
            vn(2026, 2, 26, 17, 0),
        ),
        ("a make-up Saturday is a working day", 1, vn(2026, 8, 21, 9, 0), vn(2026, 8, 22, 17, 0)),
        ("National Day: the holidays are not counted", 2, vn(2026, 8, 28, 9, 0), vn(2026, 9, 4, 17, 0)),
    ],
)
def test_due_dates_on_the_agency_calendar(office, clock, case, days, at, due):
    dossier = received_at(office, clock, publish(office, days), at)
    assert dossier.appointed_return_at == due, case
    assert dossier.processing["due_at"] == due


@pytest.mark.parametrize(("rule", "due"), [
    # Tuesday to Thursday 16:00 paused: Tue, Wed and Thu are not counted; Fri, Mon, Tue are.
    ("resume", vn(2026, 3, 10, 17, 0)),
    # Restarted Thursday 16:00, after the cut-off: Friday is the reception day; Mon, Tue, Wed.
    ("restart", vn(2026, 3, 11, 17, 0)),
])
def test_a_supplement_stops_the_clock_then_resumes_or_restarts_it(office, clock, rule, due):
    dossier = received_at(office, clock, publish(office, 3, rule), vn(2026, 3, 2, 9, 0))
    assert dossier.appointed_return_at == vn(2026, 3, 5, 17, 0)
    clock.now = vn(2026, 3, 3, 10, 0)
    office.claim_dossier(dossier.dossier_id, 0)
    paused = office.request_supplement(
        dossier.dossier_id, 0, [{"document": "Tờ khai", "problem": "Thiếu chữ ký của người khai"}]
    )
    assert paused.state == "awaiting_supplement" and paused.processing["paused"]
    clock.now = vn(2026, 3, 5, 16, 0)
    resumed = office.supplement_dossier(dossier.dossier_id, 0, [{"name": "Tờ khai", "originals": 1}], "Đã ký bổ sung")
    assert resumed.state == "in_process" and not resumed.processing["paused"]
    assert resumed.appointed_return_at == due

    count_from, explanation = office.explain_due_date(dossier.dossier_id)
    assert explanation.due_at == due
    if rule == "resume":
        assert count_from == vn(2026, 3, 2, 9, 0) and len(explanation.pauses) == 1
        assert [d.day.day for d in explanation.days if d.reason.value == "paused"] == [3, 4, 5]
    else:
        assert count_from == vn(2026, 3, 5, 16, 0) and explanation.pauses == ()


def test_the_explanation_names_the_calendar_version_and_the_days_skipped(office, clock):
    dossier = received_at(office, clock, publish(office, 3), vn(2026, 2, 13, 10, 0))
    _, explanation = office.explain_due_date(dossier.dossier_id)
    assert [(c.agency_id, c.year, c.version) for c in explanation.calendars] == [(AGENCY, 2026, 3)]
    holidays = [(d.day.day, d.name) for d in explanation.days if d.reason.value == "holiday"]
    assert holidays == [(d, "Tết Nguyên đán") for d in range(16, 21)]
    assert "public holiday: Tết Nguyên đán" in explanation.describe()


def test_steps_are_due_by_their_share_and_the_last_at_the_due_date(office, clock):
    dossier = received_at(office, clock, publish(office, 2), vn(2026, 3, 2, 9, 0))
    first, last = dossier.processing["step_due_at"]
    assert vn(2026, 3, 2, 9, 0) < first < last == dossier.appointed_return_at == vn(2026, 3, 4, 17, 0)


def test_the_watch_flags_coming_due_then_overdue_once_across_replicas(stack, office, clock):
    dossier = received_at(office, clock, publish(office, 1), vn(2026, 3, 2, 9, 0))  # due Tue 3 March 17:00
    other = DossiersApplication(office.settings, clock=clock)
    try:
        watches = [DeadlineWatch(office, 1.0), DeadlineWatch(other, 1.0)]
        clock.now = vn(2026, 3, 2, 16, 0)
        assert sum(w.sweep() for w in watches) == 0
        clock.now = vn(2026, 3, 3, 8, 0)  # the due day's working hours began
        assert sum(w.sweep() for w in watches) == 1
        clock.now = vn(2026, 3, 3, 17, 1)
        assert [w.sweep() for w in watches] == [1, 0]
        clock.now += timedelta(days=3)
        assert sum(w.sweep() for w in watches) == 0
    finally:
        other.close()
    events = [type(e).__name__ for e in office.events.get(dossier.dossier_id)]
    assert events.count("CameDue") == 1 and events.count("BecameOverdue") == 1


def test_two_officers_at_once_one_wins_the_other_is_told_the_version(office, clock):
    dossier = received_at(office, clock, publish(office, 3), vn(2026, 3, 2, 9, 0))
    office.claim_dossier(dossier.dossier_id, dossier.version)
    with pytest.raises(VersionConflict) as lost:
        office.refuse_dossier(dossier.dossier_id, dossier.version, "Không đủ điều kiện")
    assert lost.value.current == dossier.version + 1
