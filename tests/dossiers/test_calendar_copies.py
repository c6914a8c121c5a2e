"""The dossiers service's calendar copies in-process on real PostgreSQL: versions kept, the
agency's own calendar preferred over the province's, deadlines counted and explained on them."""

from __future__ import annotations

import uuid

import pytest

from motcua.clock import WorkingDays, due
from motcua.dossiers.adapters.calendar_copies import CalendarCopies
from motcua.dossiers.application.dossiers_application import DossiersApplication
from tests.support.calendars import plain_2026, vn

AGENCY = "000.00.12.H56"


@pytest.fixture
def copies(stack):
    app = DossiersApplication(stack.settings(f"d{uuid.uuid4().hex[:10]}"))  # a database of its own
    yield CalendarCopies(app)
    app.close()


def content(**changes) -> dict:
    data = {**plain_2026(), **changes}
    data.pop("year")
    return data


def keep(copies: CalendarCopies, agency_id: str, version: int, data: dict) -> None:
    replica = copies.replicate_calendar(uuid.uuid4(), agency_id, 2026, version, data)
    copies.app.save(replica)


def test_the_agency_calendar_wins_and_every_version_is_kept(copies):
    keep(copies, "", 1, content())
    assert copies.working_calendar(AGENCY, [2026]).year(2026).agency_id == ""  # no own calendar: the province's

    own = content(holidays=[*plain_2026()["holidays"], {"date": "2026-03-09", "name": "Ngày truyền thống của Sở"}])
    keep(copies, AGENCY, 1, own)
    keep(copies, AGENCY, 2, content())
    keep(copies, AGENCY, 1, own)  # a redelivered version changes nothing
    assert copies.get_calendar_replica(AGENCY, 2026).calendar_version == 2
    assert (
        copies.get_calendar_replica(AGENCY, 2026, calendar_version=1).content["holidays"][-1]["name"]
        == "Ngày truyền thống của Sở"
    )

    calendar = copies.working_calendar(AGENCY, [2026])
    deadline = due(vn(2026, 3, 6, 10), WorkingDays(1), calendar)  # Friday; Monday 9 March is no holiday in version 2
    assert deadline.due_at == vn(2026, 3, 9, 17)
    assert [(c.agency_id, c.year, c.version) for c in deadline.explanation.calendars] == [(AGENCY, 2026, 2)]

    # A year that neither the agency nor the province has published is counted Monday–Friday,
    # recorded as version 0: the one behaviour of every lookup (the README's calendars section).
    both = copies.working_calendar(AGENCY, [2026, 2027])
    assert [(y.agency_id, y.version) for y in (both.year(2026), both.year(2027))] == [(AGENCY, 2), ("", 0)]
    assert both.year(2027).weekend == frozenset({5, 6}) and not both.year(2027).holidays
