"""The dossiers service's calendar copies: load, call, save on its application, and the
working calendar a deadline is counted on."""

from __future__ import annotations

import threading
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


# Parsed calendar versions kept; a province has a few calendars a year, each published a few times.
_MAX_PARSED = 4096


class CalendarCopies:
    """The calendar replicas, read through a cache: every reception counts its due date on the
    calendars of three years, each the agency's copy or the province's, and reading and parsing
    those six replicas from the log was most of a reception's time.

    A published version never changes (``CalendarReplica.update`` keeps the first one seen), so
    a parsed version is kept for good. Which version is the newest does change, by events saved
    by whichever replica's consumer applied them: the replicas kept here are checked against the
    versions in the store, all in one query, each time the newest is asked for.
    """

    def __init__(self, app: ServiceApplication) -> None:
        self.app = app
        self._replicas: dict[UUID, CalendarReplica] = {}  # replica id -> the latest read
        self._parsed: dict[tuple[UUID, int], YearCalendar] = {}  # (replica id, calendar version)
        self._lock = threading.Lock()

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
        ordered = sorted(set(years))
        newest = [year for year in ordered if year not in versions]
        stored = self._newest_replicas(agency_id, newest) if newest else {}
        return WorkingCalendar(
            [self._year_calendar(agency_id, year, versions.get(year), stored) for year in ordered]
        )

    def _year_calendar(self, agency_id: str, year: int, recorded: dict[str, Any] | None,
                       stored: dict[UUID, CalendarReplica]) -> YearCalendar:
        if recorded is not None:
            if not recorded["version"]:
                return deadlines.default_year(year, recorded["agency_id"])
            replica_id = CalendarReplica.create_id(recorded["agency_id"], year)
            parsed = self._parsed.get((replica_id, recorded["version"]))
            if parsed is not None:
                return parsed
            replica = self._find(recorded["agency_id"], year)
            return self._parse(replica, recorded["version"]) if replica else \
                deadlines.default_year(year, recorded["agency_id"])
        replica = (stored.get(CalendarReplica.create_id(agency_id, year)) if agency_id else None) or \
            stored.get(CalendarReplica.create_id("", year))
        return self._parse(replica, replica.calendar_version) if replica else deadlines.default_year(year)

    def _newest_replicas(self, agency_id: str, years: list[int]) -> dict[UUID, CalendarReplica]:
        """The stored replicas of the agency's and the province's calendars of these years, by id:
        those kept here when the store has no newer version, the others read again."""
        ids = [CalendarReplica.create_id(scope, year) for year in years for scope in {agency_id, ""}]
        found: dict[UUID, CalendarReplica] = {}
        for replica_id, version in self.app.stored_versions(ids).items():
            replica = self._replicas.get(replica_id)
            if replica is None or replica.version != version:
                replica = self.app.find(CalendarReplica, replica_id)
                if replica is None:  # an event of another kind under that id: not a calendar
                    continue
                with self._lock:
                    if len(self._replicas) >= _MAX_PARSED:
                        self._replicas.clear()
                    self._replicas[replica_id] = replica
            found[replica_id] = replica
        return found

    def _parse(self, replica: CalendarReplica, calendar_version: int) -> YearCalendar:
        key = (replica.id, calendar_version)
        parsed = self._parsed.get(key)
        if parsed is None:
            parsed = replica.year_calendar(calendar_version)
            with self._lock:
                if len(self._parsed) >= _MAX_PARSED:
                    self._parsed.clear()
                self._parsed[key] = parsed
        return parsed

    def _find(self, agency_id: str, year: int) -> CalendarReplica | None:
        return self.app.find(CalendarReplica, CalendarReplica.create_id(agency_id, year))
