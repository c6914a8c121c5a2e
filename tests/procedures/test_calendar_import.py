"""`motcua-calendar-import` against a real procedures service: creates and publishes, changes
nothing the second time, corrects and publishes a new version, refuses a bad file whole."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from motcua.procedures.v1 import calendar_pb2, calendar_service_pb2 as pb
from tests.support import auth
from tests.support.auth import default_token
from tests.support.calendar_clients import calendars_stub
from tests.support.calendars import SEED_2026
from tests.support.dossiers import fresh_agency
from tests.support.identity import province_admin_token, seed_agencies
from tests.support.waiting import eventually


@pytest.fixture(scope="module")
def procedures_service(stack):
    service = stack.service("procedures").start()
    yield service
    assert service.terminate() == 0


def run_import(service, *args: str, token: str | None = None) -> subprocess.CompletedProcess:
    """The importer as an administrator would run it: the token in MOTCUA_TOKEN."""
    env = {**os.environ, "MOTCUA_TOKEN": default_token() if token is None else token}
    return subprocess.run(
        [sys.executable, "-m", "motcua.procedures.calendar_import", "--addr", service.addr, *args],
        capture_output=True, text=True, timeout=120, env=env,
    )


def province_2026(service) -> list[calendar_pb2.Calendar]:
    return list(
        calendars_stub(service.addr).ListCalendars(pb.ListCalendarsRequest(province_wide=True, year=2026)).calendars
    )


def test_the_seed_is_imported_once_then_corrected(stack, procedures_service, tmp_path):
    # The province-wide calendar is the province administrator's: granted at the root of the
    # agency tree, which procedures knows once it has identity's AgencyCreated events.
    seeded = seed_agencies(stack.identity.addr)
    assert seeded.returncode == 0, seeded.stdout + seeded.stderr
    province = province_admin_token()
    first = eventually(
        lambda: (done := run_import(procedures_service, str(SEED_2026), token=province)).returncode == 0 and done,
        what="the province-wide calendar imported once procedures knows the province",
    )
    (calendar,) = province_2026(procedures_service)
    assert (calendar.state, calendar.calendar_version) == (calendar_pb2.CALENDAR_STATE_PUBLISHED, 1)
    assert calendar.holidays[0] == calendar_pb2.CalendarDay(date="2026-01-01", name="Tết Dương lịch")
    assert "version 1 in force" in first.stdout

    again = run_import(procedures_service, str(SEED_2026), token=province)
    assert again.returncode == 0, again.stderr
    assert "already up to date" in again.stdout
    assert province_2026(procedures_service) == [calendar]  # not one event more

    corrected = json.loads(SEED_2026.read_text(encoding="utf-8"))
    corrected["holidays"] = [h for h in corrected["holidays"] if h["date"] != "2026-08-31"]
    corrected["holidays"].append({"date": "2026-11-24", "name": "Ngày Văn hóa Việt Nam"})
    corrected["makeup_working_days"] = []
    corrected["reception_cutoff"] = "16:00"
    path = tmp_path / "calendar-2026.json"
    path.write_text(json.dumps(corrected, ensure_ascii=False), encoding="utf-8")
    third = run_import(procedures_service, str(path), token=province)
    assert third.returncode == 0, third.stderr
    (updated,) = province_2026(procedures_service)
    assert (updated.state, updated.calendar_version, updated.reception_cutoff) == (
        calendar_pb2.CALENDAR_STATE_PUBLISHED,
        2,
        "16:00",
    )
    dates = [d.date for d in updated.holidays]
    assert "2026-11-24" in dates and "2026-08-31" not in dates
    assert not updated.makeup_working_days


def test_a_bad_file_is_refused_whole_naming_every_field(procedures_service, tmp_path):
    agency = fresh_agency()
    bad = json.loads(SEED_2026.read_text(encoding="utf-8"))
    bad["weekend"] = ["saturday", "chủ nhật"]
    bad["holidays"][0]["date"] = "2025-01-01"
    bad["working_hours"] = [["07:30", "11:30"], ["11:00", "17:00"]]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad, ensure_ascii=False), encoding="utf-8")
    result = run_import(procedures_service, "--agency-id", agency, str(path))
    assert result.returncode == 2
    for field in ("weekend[1]", "holidays[0].date", "working_hours[1].start"):
        assert field in result.stderr
    listed = calendars_stub(procedures_service.addr).ListCalendars(pb.ListCalendarsRequest(agency_id=agency)).calendars
    assert not listed

    not_json = tmp_path / "not.json"
    not_json.write_text("{year: 2026", encoding="utf-8")
    assert run_import(procedures_service, str(not_json)).returncode == 2


def test_an_agencys_calendar_and_a_refusal_by_the_service(procedures_service):
    agency = fresh_agency()
    created = run_import(
        procedures_service, "--agency-id", agency, str(SEED_2026), token=auth.issue(agency_id=agency).access_token
    )
    assert created.returncode == 0, created.stderr
    refused = run_import(procedures_service, "--agency-id", "Sở Tư pháp", str(SEED_2026))
    assert refused.returncode == 1
    assert "INVALID_ARGUMENT" in refused.stderr and "agency_id" in refused.stderr


def test_without_a_token_the_service_refuses_and_a_development_token_can_be_asked_for(stack, procedures_service):
    agency = fresh_agency()
    anonymous = run_import(procedures_service, "--agency-id", agency, str(SEED_2026), token="")
    assert anonymous.returncode == 1
    assert "UNAUTHENTICATED" in anonymous.stderr
    asked = run_import(
        procedures_service, "--agency-id", agency, "--dev-token-from", stack.identity.addr, str(SEED_2026), token=""
    )
    assert asked.returncode == 0, asked.stderr
    assert "version 1 in force" in asked.stdout
