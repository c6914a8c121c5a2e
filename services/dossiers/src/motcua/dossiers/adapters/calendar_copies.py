"""The dossiers service's calendar copies: load, call, save on its application, and the
working calendar a deadline is counted on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable
from uuid import UUID


from motcua.clock import MissingCalendar, WorkingCalendar
from motcua.kernel.errors import NotFound
from motcua.kernel.eventstore import ServiceApplication

from motcua.dossiers.domain.calendar_replica import CalendarReplica


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

    def replicate_calendar(self, calendar_id: UUID, agency_id: str, year: int, calendar_version: int, content: dict[str, Any]) -> CalendarReplica:
        """The replica with the published version recorded (pending events unsaved: the caller saves)."""
        replica = self._find(agency_id, year)
        if replica is None:
            return CalendarReplica(agency_id=agency_id, year=year, calendar_id=calendar_id, calendar_version=calendar_version, content=content)
        replica.update(calendar_id, calendar_version, content)
        return replica

    def get_calendar_replica(self, agency_id: str, year: int, calendar_version: int = 0) -> CalendarReplicaView:
        replica = self._find(agency_id, year)
        if replica is None:
            raise NotFound("calendar replica", f"{agency_id or 'province'} {year}")
        version = calendar_version or replica.calendar_version
        return CalendarReplicaView(replica.calendar_id, agency_id, year, version, replica.content(version))

    def working_calendar(self, agency_id: str, years: Iterable[int]) -> WorkingCalendar:
        """The calendars in force for an agency: its own for a year where it has one, else the
        province's; raises MissingCalendar for a year with neither."""
        chosen = []
        for year in sorted(set(years)):
            replica = (self._find(agency_id, year) if agency_id else None) or self._find("", year)
            if replica is None:
                raise MissingCalendar(year)
            chosen.append(replica.year_calendar())
        return WorkingCalendar(chosen)

    def _find(self, agency_id: str, year: int) -> CalendarReplica | None:
        return self.app.find(CalendarReplica, CalendarReplica.create_id(agency_id, year))
