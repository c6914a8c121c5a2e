"""The calendars a reception counts on, read through the dossiers service's cache on real
PostgreSQL: read from the log once, then only checked against it, and never stale when another
replica of the service records a newer version."""

from __future__ import annotations

import uuid

import pytest

from motcua.dossiers.application.dossiers_application import DossiersApplication
from motcua.dossiers.domain.calendar_replica import CalendarReplica
from tests.support.calendars import plain_2026
from tests.support.reads import counted_reads

AGENCY = "000.00.12.H56"
HOLIDAY = {"date": "2026-03-09", "name": "Ngày truyền thống của Sở"}


@pytest.fixture
def replicas(stack):
    """Two replicas of the dossiers service's application on one database of their own."""
    settings = stack.settings(f"d{uuid.uuid4().hex[:10]}")
    first = DossiersApplication(settings)
    second = DossiersApplication(settings)
    yield first, second
    second.close()
    first.close()


def content(**changes) -> dict:
    data = {**plain_2026(), **changes}
    data.pop("year")
    return data


def publish(app: DossiersApplication, agency_id: str, version: int, data: dict) -> None:
    app.save(app.calendars.replicate_calendar(uuid.uuid4(), agency_id, 2026, version, data))


def replica_reads(app: DossiersApplication, monkeypatch) -> list[uuid.UUID]:
    """The calendar replicas ``app`` reads from the log from now on."""
    return counted_reads(app, CalendarReplica, monkeypatch)


def test_calendars_unchanged_since_the_last_reception_are_not_read_again(replicas, monkeypatch):
    app, _ = replicas
    publish(app, "", 1, content())
    publish(app, AGENCY, 1, content(holidays=[*plain_2026()["holidays"], HOLIDAY]))
    reads = replica_reads(app, monkeypatch)

    first = app.calendars.working_calendar(AGENCY, [2026, 2027])
    assert reads, "the first reception reads the replicas"
    reads.clear()
    again = app.calendars.working_calendar(AGENCY, [2026, 2027])

    assert reads == []
    assert [(y.agency_id, y.version) for y in (again.year(2026), again.year(2027))] == [(AGENCY, 1), ("", 0)]
    assert again.year(2026).holidays == first.year(2026).holidays
    assert any(h.name == "Ngày truyền thống của Sở" for h in again.year(2026).holidays)


def test_a_version_another_replica_recorded_is_counted_on_at_once(replicas):
    first, second = replicas
    publish(second, "", 1, content())
    assert first.calendars.working_calendar(AGENCY, [2026]).year(2026).version == 1  # now kept by the first

    publish(second, "", 2, content(holidays=[*plain_2026()["holidays"], HOLIDAY]))
    newer = first.calendars.working_calendar(AGENCY, [2026]).year(2026)
    assert (newer.agency_id, newer.version) == ("", 2)
    assert any(h.name == HOLIDAY["name"] for h in newer.holidays)

    # The agency's own calendar, published later through the other replica, wins from then on.
    publish(second, AGENCY, 1, content())
    own = first.calendars.working_calendar(AGENCY, [2026]).year(2026)
    assert (own.agency_id, own.version) == (AGENCY, 1)

    # A due date explained later is counted again on the versions it was counted on.
    recorded = [{"year": 2026, "agency_id": "", "version": 1}]
    assert first.calendars.working_calendar(AGENCY, [2026], recorded).year(2026).version == 1

