"""The dossiers service's calendar copies: load, call, save on its application, and the
working calendar a deadline is counted on."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from motcua.clock import WorkingCalendar, YearCalendar
from motcua.dossiers.domain import deadlines
from motcua.dossiers.domain.calendar_replica import CalendarReplica
from motcua.kernel.errors import NotFound
from motcua.kernel.eventstore import ServiceApplication


@dataclass(frozen=True)
class CalendarReplicaView:
    calendar_id: UUID
    agency_id: str
    year: int
    calendar_version: int
    content: dict[str, Any]


class CalendarCopies:
    def __init__(self, app: ServiceApplication) -> None:
        self.app = app

    def replicate_calendar(
        self, calendar_id: UUID, agency_id: str, year: int, calendar_version: int, content: dict[str, Any]
    ) -> CalendarReplica:
        """The replica with the published version recorded (pending events unsaved: the caller
        saves)."""
        replica = self._find(agency_id, year)
        if replica is None:
            return CalendarReplica(
                agency_id=agency_id,
                year=year,
                calendar_id=calendar_id,
                calendar_version=calendar_version,
                content=content,
            )
        replica.update(calendar_id, calendar_version, content)
        return replica

    def get_calendar_replica(self, agency_id: str, year: int, calendar_version: int = 0) -> CalendarReplicaView:
        replica = self._find(agency_id, year)
        if replica is None:
            raise NotFound("calendar replica", f"{agency_id or 'province'} {year}")
        version = calendar_version or replica.calendar_version
        return CalendarReplicaView(replica.calendar_id, agency_id, year, version, replica.content(version))

    def working_calendar(self, agency_id: str, years: Iterable[int],
                         recorded: Iterable[dict[str, Any]] = ()) -> WorkingCalendar:
        """The calendars deadlines are counted on, one per year: the agency's own copy, else the
        province's, else Monday–Friday with the usual hours (``deadlines.default_year``, recorded
        as version 0 so that an explanation says so; documented in the README). With
        ``recorded`` (the versions a dossier's due date was counted on), exactly those."""
        versions = {int(v["year"]): v for v in recorded}
        return WorkingCalendar(
            [self._year_calendar(agency_id, year, versions.get(year)) for year in sorted(set(years))]
        )

    def _year_calendar(self, agency_id: str, year: int, recorded: dict[str, Any] | None) -> YearCalendar:
        if recorded is not None:
            replica = self._find(recorded["agency_id"], year) if recorded["version"] else None
            return (
                replica.year_calendar(recorded["version"])
                if replica
                else deadlines.default_year(year, recorded["agency_id"])
            )
        replica = (self._find(agency_id, year) if agency_id else None) or self._find("", year)
        return replica.year_calendar() if replica else deadlines.default_year(year)

    def _find(self, agency_id: str, year: int) -> CalendarReplica | None:
        return self.app.find(CalendarReplica, CalendarReplica.create_id(agency_id, year))
