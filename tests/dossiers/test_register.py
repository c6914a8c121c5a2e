"""The dossier register through the dossiers application (in-process on the session's
PostgreSQL, with a set clock): search with and without diacritics, work queues, the
citizens' lookup and its rate limit, statistics counted against the original due date,
and every projection dropped and rebuilt from the log with identical rows and numbers."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from psycopg.sql import SQL

from motcua.dossiers.adapters.calendar_copies import CalendarCopies
from motcua.dossiers.adapters.register_queries import Filters
from motcua.dossiers.application.dossiers_application import DossiersApplication
from motcua.dossiers.application.register_reads import LookupsExhausted
from motcua.dossiers.application.views import PublishedVersion, Submission
from motcua.dossiers.config import DossiersConfig
from motcua.dossiers.domain.values import Applicant, Document
from motcua.kernel.context import Actor, acting_as
from motcua.kernel.errors import InvalidArgument, NotFound, PermissionDenied

from .test_dossiers_application import Clock
from .test_due_dates import CALENDAR_2026

VN = ZoneInfo("Asia/Ho_Chi_Minh")
AGENCY = "000.00.31.H56"
OFFICER = Actor(
    subject="officer-1",
    agency_id=AGENCY,
    roles=("desk_officer", "specialist", "department_head", "applicant", "administrator"),
)


def vn(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=VN)


@pytest.fixture
def clock() -> Clock:
    return Clock(vn(2026, 1, 5, 8, 0))


@pytest.fixture
def office(stack, clock, tmp_path):
    config = DossiersConfig(documents_dir=tmp_path / "documents", lookup_burst=3, lookup_per_minute=1.0)
    app = DossiersApplication(stack.settings(f"r{uuid.uuid4().hex[:10]}"), clock=clock, config=config)
    with acting_as(OFFICER):
        yield app
    app.close()


def publish(office: DossiersApplication, days: int = 3) -> uuid.UUID:
    procedure_id = uuid.uuid4()
    terms = {
        "processing_time": {"value": days, "unit": "working_days"},
        "required_documents": [{"name": "Tờ khai", "originals": 1, "copies": 0}],
        "steps": [{"name": "Thẩm định và ký", "role": "specialist", "unit": "Phòng Tư pháp", "share": 1.0}],
        "supplement_rule": "resume",
    }
    office.save(office.replicate_procedure(PublishedVersion(procedure_id, "1.000002.000.00.00.H56", "Đăng ký khai sinh",
                                                            AGENCY, days, 2, terms=terms)))
    return procedure_id


def submit(office, clock, procedure_id, at, name="Nguyễn Thị Hồng Nhung", channel="desk", phone="0912 345 678"):
    clock.now = at
    return office.submit_dossier(Submission(
        procedure_id=procedure_id, agency_id=AGENCY, channel=channel,
        applicant=Applicant(kind="citizen", full_name=name, identity_number="038190001234", phone=phone),
        documents=(Document("Tờ khai", 1, 0),),
    ))


def received(office, clock, procedure_id, at, **kwargs):
    dossier = submit(office, clock, procedure_id, at, **kwargs)
    return office.receive_dossier(dossier.dossier_id)


def finish(office, clock, dossier_id, at):
    clock.now = at
    office.claim_dossier(dossier_id, 0)
    return office.mark_result_ready(
        dossier_id, 0, lambda d: {"document_id": str(uuid.uuid4()), "signed_document_sha256": "ab" * 32}
    )


@pytest.fixture
def history(office, clock):
    """A January at one agency: early, on time, late after an apology, refused, withdrawn,
    a supplement, one still in process (and overdue), a returned and rated one."""
    office.save(CalendarCopies(office).replicate_calendar(uuid.uuid4(), AGENCY, 2026, 1, CALENDAR_2026))
    procedure = publish(office)
    other = publish(office, days=5)
    monday = vn(2026, 1, 5, 9, 0)  # 3 working days: due Thursday 2026-01-08 17:00
    ids = {}
    ids["early"] = received(office, clock, procedure, monday, channel="online").dossier_id
    finish(office, clock, ids["early"], vn(2026, 1, 6, 10, 0))
    ids["on_time"] = received(office, clock, procedure, monday, name="Trần Văn Đức").dossier_id
    finish(office, clock, ids["on_time"], vn(2026, 1, 8, 16, 0))
    ids["late"] = received(office, clock, procedure, monday, name="Lê Thị Đào", channel="postal").dossier_id
    clock.now = vn(2026, 1, 8, 10, 0)
    office.issue_apology(ids["late"], 0, "Cần xác minh thêm tại địa phương", vn(2026, 1, 15, 17, 0))
    finish(office, clock, ids["late"], vn(2026, 1, 12, 9, 0))  # before the new date, after the original one
    clock.now = vn(2026, 1, 12, 10, 0)
    office.return_result(ids["late"], 0)
    office.rate_dossier(ids["late"], 4, "Cán bộ nhiệt tình")
    ids["refused"] = submit(office, clock, procedure, vn(2026, 1, 6, 9, 0), name="Phạm Minh Khôi").dossier_id
    office.refuse_dossier(ids["refused"], 0, "Không thuộc thẩm quyền")
    ids["withdrawn"] = received(office, clock, other, vn(2026, 1, 7, 9, 0), channel="online").dossier_id
    clock.now = vn(2026, 1, 7, 11, 0)
    office.withdraw_dossier(ids["withdrawn"], 0, "Không còn nhu cầu")
    ids["supplement"] = received(office, clock, other, vn(2026, 1, 7, 9, 30), name="Đỗ Ngọc Ánh").dossier_id
    clock.now = vn(2026, 1, 8, 9, 0)
    office.request_supplement(ids["supplement"], 0, [{"document": "Tờ khai", "problem": "Thiếu chữ ký"}])
    ids["open"] = received(office, clock, procedure, vn(2026, 1, 9, 9, 0), name="Vũ Hoàng Nam").dossier_id
    clock.now = vn(2026, 1, 9, 10, 0)
    office.claim_dossier(ids["open"], 0)
    return {"procedure": procedure, "other": other, **ids}


def statistics(office):
    total, lines = office.statistics(AGENCY, None, "2026-01-01", "2026-01-31")
    return total, {line.procedure_id: line for line in lines}


def test_statistics_count_against_the_original_due_date(office, clock, history):
    total, lines = statistics(office)
    assert (total.received, total.received_online, total.received_at_desk, total.received_by_post) == (6, 2, 3, 1)
    assert (total.finished_early, total.finished_on_time, total.finished_late) == (1, 1, 1)
    assert (total.refused, total.withdrawn, total.supplement_requests) == (1, 1, 1)
    assert total.in_process == 2  # the supplement awaited and the claimed one
    assert total.online_share == pytest.approx(2 / 6)
    # Whole working days from a Monday reception to the result: none by Tuesday 10:00, two by
    # Thursday 16:00 (Tuesday, Wednesday), four by the next Monday 09:00.
    assert (total.working_days_count, total.ratings, total.average_rating) == (3, 1, 4.0)
    assert total.average_processing_working_days == pytest.approx((0 + 2 + 4) / 3)
    assert lines[str(history["other"])].received == 2 and lines[str(history["other"])].supplement_requests == 1
    # A period before anything happened counts nothing, and a later one sees the open ones as in
    # process.
    empty, _ = office.statistics(AGENCY, None, "2025-12-01", "2025-12-31")
    assert empty.received == 0 and empty.in_process == 0
    february, _ = office.statistics(AGENCY, history["procedure"], "2026-02-01", "2026-02-28")
    assert february.received == 0 and february.in_process == 1


def test_period_and_agency_are_checked(office, history):
    with pytest.raises(InvalidArgument) as bad:
        office.statistics(AGENCY, None, "2026-02-01", "2026-01-01")
    assert bad.value.violations[0].field == "end_date"
    with acting_as(Actor(subject="x", agency_id="000.00.99.H99", roles=("specialist",))):
        with pytest.raises(PermissionDenied):
            office.statistics(AGENCY, None, "2026-01-01", "2026-01-31")


def test_search_by_name_with_or_without_diacritics_and_by_code(office, history):
    def names(**filters):
        rows, _ = office.list_dossiers(Filters(**filters), 50, "")
        return sorted(r["applicant_name"] for r in rows)

    assert names(query="Lê Thị Đào") == names(query="le thi dao") == ["Lê Thị Đào"]
    assert names(query="đỗ ánh") == ["Đỗ Ngọc Ánh"]
    code = office.get_dossier(history["on_time"]).code
    assert names(query=code) == ["Trần Văn Đức"]
    assert len(names(query=code[:-4])) == 3  # the three submitted that Monday share the prefix
    assert names(state="refused") == ["Phạm Minh Khôi"]
    assert names(procedure_id=history["other"]) == ["Nguyễn Thị Hồng Nhung", "Đỗ Ngọc Ánh"]
    assert names(received_after=vn(2026, 1, 9, 0, 0)) == ["Vũ Hoàng Nam"]


def test_pages_cover_every_dossier_once(office, history):
    seen, token = [], ""
    while True:
        rows, token = office.list_dossiers(Filters(), 2, token)
        seen += [r["dossier_id"] for r in rows]
        if not token:
            break
    assert len(seen) == len(set(seen)) == 7
    with pytest.raises(InvalidArgument):
        office.list_dossiers(Filters(), 2, "not-a-token")


def test_an_applicant_lists_only_their_own(office, history):
    with acting_as(Actor(subject="someone-else", roles=("applicant",))):
        rows, _ = office.list_dossiers(Filters(), 50, "")
    assert rows == []


def test_work_queues_mine_unit_and_overdue(office, clock, history):
    clock.now = vn(2026, 1, 20, 9, 0)

    def queue(scope, unit="", deadline=""):
        rows, _ = office.work_queue(scope, unit, "", deadline, 50, "")
        return [r["dossier_id"] for r in rows]

    # Soonest due first; results ready stay in the queue until the desk returns them.
    mine = queue("mine")
    assert set(mine) == {history["early"], history["on_time"], history["open"]} and mine[-1] == history["open"]
    rows, _ = office.work_queue("unit", "Phòng Tư pháp", "in_process", "", 50, "")
    assert [r["dossier_id"] for r in rows] == [history["open"]]
    assert set(queue("agency")) == {history["open"], history["supplement"], history["early"], history["on_time"]}
    assert queue("agency", deadline="overdue") == [history["open"]]  # the supplement's clock is stopped
    processing = office.get_dossier(history["open"]).processing
    clock.now = processing["coming_due_at"] + timedelta(minutes=1)
    assert clock.now < processing["due_at"]
    assert queue("agency", deadline="coming_due") == [history["open"]]
    with pytest.raises(InvalidArgument):
        queue("unit")


def test_the_citizens_lookup_needs_the_phone_and_is_rate_limited(office, history):
    code = office.get_dossier(history["late"]).code
    status = office.look_up_status(code, "0912-345-678", "203.0.113.7")
    assert status["state"] == "returned" and status["code"] == code
    with pytest.raises(NotFound):
        office.look_up_status(code, "0987654321", "203.0.113.7")
    assert office.look_up_status(code, "0912345678", "203.0.113.7")["appointed_at"] == vn(2026, 1, 15, 17, 0)
    with pytest.raises(LookupsExhausted):
        office.look_up_status(code, "0912345678", "203.0.113.7")  # the bucket held 3
    assert office.look_up_status(code, "0912345678", "198.51.100.2")["state"] == "returned"  # another address


def test_every_projection_dropped_and_rebuilt_from_the_log_is_identical(office, history):
    before_rows = office.register.all_rows()
    before_stats = statistics(office)
    assert sum(len(rows) for rows in before_rows.values()) > 7
    with office.recorder.datastore.transaction(commit=True) as curs:
        for table in office.recorder.read_model_tables():
            curs.execute(SQL("DROP TABLE {t}").format(t=table))
    office.recorder.create_table()
    assert office.recorder.rebuild_if_missing()
    assert office.register.all_rows() == before_rows
    assert statistics(office) == before_stats


def test_a_register_from_before_attachment_bytes_were_counted_is_rebuilt_with_them_at_start(stack, clock, tmp_path):
    from .test_register_api import png

    settings = stack.settings(f"r{uuid.uuid4().hex[:10]}")
    config = DossiersConfig(documents_dir=tmp_path / "documents")
    image = png()
    app = DossiersApplication(settings, clock=clock, config=config)
    try:
        with acting_as(OFFICER):
            clock.now = vn(2026, 1, 5, 9, 0)
            dossier = app.submit_dossier(Submission(
                procedure_id=publish(app), agency_id=AGENCY, channel="desk",
                applicant=Applicant(kind="citizen", full_name="Nguyễn Thị Hồng Nhung", identity_number="038190001234",
                                    account_id="tai-khoan-1", phone="0912 345 678"),
                documents=(Document("Tờ khai", 1, 0),),
            ))
            app.add_attachment(dossier.dossier_id, "Ảnh chân dung", image)
        assert app.recorder.attachment_bytes("tai-khoan-1") == len(image)
        with app.recorder.datastore.get_connection() as conn:  # as the register was before
            conn.execute(SQL("ALTER TABLE {t} DROP COLUMN attachment_bytes").format(t=app.recorder.register))
    finally:
        app.close()

    restarted = DossiersApplication(settings, clock=clock, config=config)
    try:
        assert restarted.recorder.attachment_bytes("tai-khoan-1") == len(image)
    finally:
        restarted.close()
