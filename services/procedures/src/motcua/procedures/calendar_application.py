"""The calendars of the procedures service: load, call, save, on the service's application.

A ``CalendarsApplication`` works on the procedures service's one event-sourced application
(same event log, same outbox), beside the procedure catalog.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any
from uuid import UUID

from motcua.clock.parsing import parse_weekend
from motcua.kernel.access import ADMINISTRATOR, require_grant, require_role
from motcua.kernel.agencies import AgencyTree
from motcua.kernel.agency_ids import is_agency_id
from motcua.kernel.context import current_actor
from motcua.kernel.errors import PermissionDenied, VersionConflict
from motcua.kernel.eventstore import ServiceApplication
from motcua.kernel.paging import PageQuery, invalid_page_token

from .calendar_domain import CONTENT_FIELDS, PROVINCE, Calendar, CalendarDirectory, DuplicateCalendar
from .holiday_seed import public_holidays
from .views import CalendarPage, CalendarView

DEFAULT_PAGE_SIZE = 50


class CalendarsApplication:
    max_create_attempts = 5

    def __init__(self, app: ServiceApplication, agency_tree: AgencyTree) -> None:
        self.app = app
        self.agency_tree = agency_tree

    def require_administrator(self, action: str, agency_id: str) -> None:
        """PERMISSION_DENIED (AGENCY_SCOPE) unless the caller administers the calendar's scope.

        An agency's calendar: an administrator granted at the agency or above it in the tree.
        The province-wide calendar (agency ``""``) binds every agency, so it needs an
        administrator granted at a root of the tree: an agency the replica knows and that has
        no parent. A grant at an agency the replica does not know yet is not at a root.
        """
        actor = current_actor()
        if agency_id != PROVINCE:
            require_grant(actor, action, (ADMINISTRATOR,), agency_id, within=self.agency_tree.is_within)
            return
        require_role(actor, action, ADMINISTRATOR)
        if any(grant.role == ADMINISTRATOR and grant.agency_id and self.agency_tree.parent_of(grant.agency_id) == ""
               for grant in actor.grants or ()):
            return
        raise PermissionDenied(action, "needs administrator granted at the province (the root of the agency tree)",
                               error_reason="AGENCY_SCOPE", agencies="")

    def create_calendar(
        self, agency_id: str, year: int, content: dict[str, Any], seed_public_holidays: bool = False
    ) -> CalendarView:
        """A new draft calendar; with ``seed_public_holidays`` the year's public holidays and
        make-up days are added first, those given explicitly winning on the same date."""
        if agency_id == PROVINCE or is_agency_id(agency_id):  # a malformed agency is a field error, below
            self.require_administrator("create the calendar", agency_id)
        # Checked before anything is looked up or written: errors name the caller's fields.
        content = Calendar.create(agency_id, year, {k: content[k] for k in CONTENT_FIELDS if k in content}).content()
        if seed_public_holidays:
            content = _seeded(year, content)
        for _ in range(self.max_create_attempts):
            existing = self.app.find(Calendar, Calendar.create_id(agency_id, year))
            if existing is not None:
                raise DuplicateCalendar(agency_id, year, existing.id)
            # New aggregates each attempt: a failed save has taken their pending events.
            calendar = Calendar.create(agency_id, year, content)
            directory = self.app.find(CalendarDirectory, CalendarDirectory.ID) or CalendarDirectory()
            directory.add(calendar)
            try:
                self.app.save(calendar, directory)
            except VersionConflict:
                continue  # the calendar was created concurrently, or another one was listed: look again
            return CalendarView.of(calendar)
        raise VersionConflict(str(CalendarDirectory.ID), None, None)

    def get_calendar(self, calendar_id: UUID, calendar_version: int = 0) -> CalendarView:
        return CalendarView.of(self.app.load(Calendar, calendar_id), calendar_version)

    def list_calendars(self, agency_id: str = "", province_wide: bool = False, year: int = 0,
                       page_size: int = 0, page_token: str = "") -> CalendarPage:
        directory = self.app.find(CalendarDirectory, CalendarDirectory.ID)
        entries = sorted(directory.entries if directory else [], key=lambda e: (e["year"], e["agency_id"]))
        entries = [
            e for e in entries
            if (not year or e["year"] == year)
            and (not agency_id or e["agency_id"] == agency_id)
            and (not province_wide or e["agency_id"] == "")
        ]
        query = PageQuery("calendars", agency_id, province_wide, year)
        start = query.position(page_token, int) or 0
        if start < 0:
            raise invalid_page_token()
        size = page_size or DEFAULT_PAGE_SIZE
        page = entries[start : start + size]
        more = start + size < len(entries)
        return CalendarPage(
            calendars=[CalendarView.of(self.app.load(Calendar, e["calendar_id"])) for e in page],
            next_page_token=query.token(start + size) if more else "",
        )

    def add_holiday(
        self, calendar_id: UUID, day: str, name: str, expected_version: int = 0, calendar_version: int = 0
    ) -> CalendarView:
        return self._edit(calendar_id, expected_version, lambda c: c.add_holiday(day, name, calendar_version))

    def remove_holiday(
        self, calendar_id: UUID, day: str, expected_version: int = 0, calendar_version: int = 0
    ) -> CalendarView:
        return self._edit(calendar_id, expected_version, lambda c: c.remove_holiday(day, calendar_version))

    def add_makeup_working_day(
        self, calendar_id: UUID, day: str, name: str, expected_version: int = 0, calendar_version: int = 0
    ) -> CalendarView:
        return self._edit(
            calendar_id, expected_version, lambda c: c.add_makeup_working_day(day, name, calendar_version)
        )

    def remove_makeup_working_day(
        self, calendar_id: UUID, day: str, expected_version: int = 0, calendar_version: int = 0
    ) -> CalendarView:
        return self._edit(calendar_id, expected_version, lambda c: c.remove_makeup_working_day(day, calendar_version))

    def set_working_hours(self, calendar_id: UUID, working_hours: list[dict[str, str]], reception_cutoff: str,
                          expected_version: int = 0, calendar_version: int = 0) -> CalendarView:
        return self._edit(
            calendar_id,
            expected_version,
            lambda c: c.set_working_hours(working_hours, reception_cutoff, calendar_version),
        )

    def set_weekend(
        self, calendar_id: UUID, weekend: list[str], expected_version: int = 0, calendar_version: int = 0
    ) -> CalendarView:
        return self._edit(calendar_id, expected_version, lambda c: c.set_weekend(weekend, calendar_version))

    def publish_calendar(self, calendar_id: UUID, expected_version: int = 0) -> CalendarView:
        return self._edit(calendar_id, expected_version, lambda c: c.publish())

    def _edit(self, calendar_id: UUID, expected_version: int, change: Callable[[Calendar], None]) -> CalendarView:
        calendar = self.app.load(Calendar, calendar_id)
        self.require_administrator(f"edit the {calendar.subject}", calendar.agency_id)
        # Only then against the version the caller last saw: a stranger learns nothing from a
        # conflict.
        if expected_version and calendar.version != expected_version:
            raise VersionConflict(str(calendar_id), expected_version, calendar.version)
        change(calendar)
        self.app.save(calendar)
        return CalendarView.of(calendar)



def _seeded(year: int, content: dict[str, Any]) -> dict[str, Any]:
    """The content with the seeded days added on the dates it leaves free; a seeded make-up
    day is kept only on a weekend day of this calendar that is not a holiday."""
    seeded_holidays, seeded_makeup = public_holidays(year)
    taken = {d["date"] for d in content["holidays"] + content["makeup_working_days"]}
    holidays = [*content["holidays"], *(d for d in seeded_holidays if d["date"] not in taken)]
    taken |= {d["date"] for d in holidays}
    weekend = set(parse_weekend(content["weekend"], []))
    makeup = [
        *content["makeup_working_days"],
        *(d for d in seeded_makeup if d["date"] not in taken and date.fromisoformat(d["date"]).weekday() in weekend),
    ]
    return {**content, "holidays": holidays, "makeup_working_days": makeup}
