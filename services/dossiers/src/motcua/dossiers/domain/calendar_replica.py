"""This service's copies of published working-day calendars. Pure: eventsourcing, the kernel's
errors and the pure clock library only."""

from __future__ import annotations

import functools
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from motcua.clock import YearCalendar, parse_year_calendar
from motcua.kernel.errors import NotFound


class CalendarReplica(Aggregate):
    """The published versions of one calendar (one agency scope, one year), kept from the
    procedures service's CalendarPublished events.

    Its id comes from the agency and the year, so that the calendar in force for a dossier
    is found without asking the procedures service. Every published version is kept: a
    deadline is explained by the version it was counted on.
    """

    @staticmethod
    @functools.lru_cache(maxsize=4096)  # asked on every command that uses it; uuid5 costs microseconds
    def create_id(agency_id: str, year: int, **_: object) -> UUID:
        return uuid5(NAMESPACE_URL, f"/motcua/calendar-replicas/{agency_id or 'province'}/{year}")

    @event("Replicated")
    def __init__(
        self, agency_id: str, year: int, calendar_id: UUID, calendar_version: int, content: dict[str, Any]
    ) -> None:
        self.agency_id = agency_id
        self.year = year
        self.calendar_id = calendar_id
        self.calendar_version = calendar_version
        self.versions: dict[str, dict[str, Any]] = {str(calendar_version): dict(content)}

    def update(self, calendar_id: UUID, calendar_version: int, content: dict[str, Any]) -> bool:
        """Records a published version not seen before; the newest one is the one in force."""
        if str(calendar_version) in self.versions:
            return False
        self._updated(calendar_id=calendar_id, calendar_version=calendar_version, content=content)
        return True

    @event("Updated")
    def _updated(self, calendar_id: UUID, calendar_version: int, content: dict[str, Any]) -> None:
        self.calendar_id = calendar_id
        self.versions[str(calendar_version)] = dict(content)
        self.calendar_version = max(self.calendar_version, calendar_version)

    def content(self, calendar_version: int = 0) -> dict[str, Any]:
        """The content of a version (0: the newest)."""
        version = calendar_version or self.calendar_version
        try:
            return self.versions[str(version)]
        except KeyError:
            raise NotFound(
                "calendar replica version", f"{self.agency_id or 'province'} {self.year} version {version}"
            ) from None

    def year_calendar(self, calendar_version: int = 0) -> YearCalendar:
        """The version as the clock counts on it."""
        version = calendar_version or self.calendar_version
        data = {"year": self.year, **self.content(version)}
        return parse_year_calendar(data, agency_id=self.agency_id, version=version)
