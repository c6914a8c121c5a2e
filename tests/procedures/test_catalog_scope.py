"""Procedures and calendars are edited only by administrators of their agency's subtree, through
real processes: the procedures service replicates identity's agency tree from its events."""

from __future__ import annotations

import pytest

from motcua.identity.v1.role_pb2 import Role
from motcua.procedures.v1 import calendar_pb2, calendar_service_pb2 as cpb, procedure_pb2, procedure_service_pb2 as ppb
from tests.support.calendar_clients import calendars_stub, create_request as calendar_request
from tests.support.clients import error_reason, procedures_stub
from tests.support.identity import province_admin_token, seed_agencies, token
from tests.support.procedures import full_create_request
from tests.support.waiting import eventually

JUSTICE = "000.00.10.H56"  # Sở Tư pháp, a department under the province
HEALTH = "000.00.15.H56"  # Sở Y tế, a sibling department
COMMUNE = "000.21.30.H56"  # Ủy ban nhân dân phường Hạc Thành, a commune under the province
YEAR = 2033  # the province-wide calendar of this year is this module's own


@pytest.fixture(scope="module")
def procedures_addr(stack):
    seeded = seed_agencies(stack.identity.addr)
    assert seeded.returncode == 0, seeded.stdout + seeded.stderr
    service = stack.service("procedures").start()
    yield service.addr
    assert service.terminate() == 0


def admin(agency: str) -> str:
    return token(Role.ROLE_ADMINISTRATOR, agency_id=agency)


def moved_to(procedure: procedure_pb2.Procedure, agency: str) -> procedure_pb2.Procedure:
    """The procedure's content, implemented by another agency."""
    moved = procedure_pb2.Procedure()
    moved.CopyFrom(procedure)
    moved.agency_id = agency
    return moved


@pytest.fixture(scope="module")
def department_procedure(procedures_addr):
    """A procedure of the department, created by the province's administrator through the tree."""
    province = procedures_stub(procedures_addr, province_admin_token())
    return eventually(
        lambda: province.CreateProcedure(full_create_request(name="Chứng thực bản sao", agency_id=JUSTICE)).procedure,
        what="the department in procedures' agency tree",
    )


def test_the_province_administrator_edits_a_departments_procedure_through_the_tree(
    procedures_addr, department_procedure
):
    province = procedures_stub(procedures_addr, province_admin_token())
    renamed = province.RenameProcedure(ppb.RenameProcedureRequest(
        procedure_id=department_procedure.procedure_id, name="Chứng thực bản sao từ bản chính",
        expected_version=department_procedure.version)).procedure
    assert (renamed.name, renamed.agency_id) == ("Chứng thực bản sao từ bản chính", JUSTICE)


def test_a_commune_administrator_cannot_edit_a_departments_procedure(procedures_addr, department_procedure):
    commune = procedures_stub(procedures_addr, admin(COMMUNE))
    pid = department_procedure.procedure_id
    current = procedures_stub(procedures_addr).GetProcedure(ppb.GetProcedureRequest(procedure_id=pid)).procedure
    assert error_reason(lambda: commune.RenameProcedure(ppb.RenameProcedureRequest(
        procedure_id=pid, name="Tên khác", expected_version=current.version))) == "AGENCY_SCOPE"
    assert (
        error_reason(lambda: commune.PublishProcedure(ppb.PublishProcedureRequest(procedure_id=pid))) == "AGENCY_SCOPE"
    )
    assert error_reason(lambda: commune.UpdateProcedure(ppb.UpdateProcedureRequest(
        procedure_id=pid, procedure=moved_to(current, COMMUNE), expected_version=current.version))) == "AGENCY_SCOPE"
    assert error_reason(lambda: commune.CreateProcedure(full_create_request(agency_id=JUSTICE))) == "AGENCY_SCOPE"
    unchanged = procedures_stub(procedures_addr).GetProcedure(ppb.GetProcedureRequest(procedure_id=pid)).procedure
    assert unchanged == current


def test_a_departments_administrator_cannot_move_its_procedure_to_another_department(procedures_addr):
    justice = procedures_stub(procedures_addr, admin(JUSTICE))
    created = justice.CreateProcedure(
        full_create_request(agency_id=JUSTICE)
    ).procedure  # its own agency: no tree needed
    assert (
        error_reason(
            lambda: justice.UpdateProcedure(
                ppb.UpdateProcedureRequest(
                    procedure_id=created.procedure_id,
                    procedure=moved_to(created, HEALTH),
                    expected_version=created.version,
                )
            )
        )
        == "AGENCY_SCOPE"
    )
    assert (
        procedures_stub(procedures_addr)
        .GetProcedure(ppb.GetProcedureRequest(procedure_id=created.procedure_id))
        .procedure
        == created
    )


def test_only_the_province_administrator_edits_the_province_calendar(procedures_addr):
    province = calendars_stub(procedures_addr, province_admin_token())
    created = eventually(lambda: province.CreateCalendar(calendar_request(year=YEAR)).calendar,
                         what="the province as the root of procedures' agency tree")
    assert created.agency_id == ""
    holiday = calendar_pb2.CalendarDay(date=f"{YEAR}-11-24", name="Ngày Văn hóa Việt Nam")
    for agency in (COMMUNE, JUSTICE):  # a department is not the province either
        refused = calendars_stub(procedures_addr, admin(agency))
        assert (
            error_reason(
                lambda refused=refused: refused.AddHoliday(
                    cpb.AddHolidayRequest(calendar_id=created.calendar_id, holiday=holiday)
                )
            )
            == "AGENCY_SCOPE"
        )
        assert (
            error_reason(
                lambda refused=refused: refused.PublishCalendar(
                    cpb.PublishCalendarRequest(calendar_id=created.calendar_id)
                )
            )
            == "AGENCY_SCOPE"
        )
    assert (
        error_reason(
            lambda: calendars_stub(procedures_addr, admin(COMMUNE)).CreateCalendar(calendar_request(year=YEAR + 1))
        )
        == "AGENCY_SCOPE"
    )
    edited = province.AddHoliday(cpb.AddHolidayRequest(calendar_id=created.calendar_id, holiday=holiday)).calendar
    assert holiday in edited.holidays and edited.version == created.version + 1
