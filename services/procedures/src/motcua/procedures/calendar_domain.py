"""Working-day calendars: one ``Calendar`` aggregate per agency scope and year.

Pure: imports eventsourcing, the kernel's errors and the pure clock library (whose
parsing checks a calendar's content, so that what is published here is exactly what the
clock can count on). Events hold plain values: dates and times as ISO strings, weekdays
by their English names.

Versions: the content has a ``calendar_version``. Edits change the open draft; an edit
after publishing first starts the next version (``VersionStarted``), so a published
version never changes. Its content stays in the ``Published`` event and in ``published``.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from motcua.clock import InvalidCalendar, Problem, parse_year_calendar
from motcua.clock.parsing import check_name, parse_cutoff, parse_date, parse_weekend, parse_working_hours
from motcua.kernel.agency_ids import is_agency_id
from motcua.kernel.errors import AlreadyExists, FieldViolation, InvalidArgument, InvalidTransition, NotFound
from motcua.kernel.localtime import VIETNAM_ZONE_NAME

DRAFT = "draft"
PUBLISHED = "published"
PROVINCE = ""  # agency scope of the province-wide calendar
DEFAULT_TIMEZONE = VIETNAM_ZONE_NAME

CONTENT_FIELDS = ("timezone", "weekend", "working_hours", "reception_cutoff", "holidays", "makeup_working_days")


def scope_name(agency_id: str) -> str:
    return agency_id or "province"


class Calendar(Aggregate):
    """The working-day calendar of one year for the province (agency ``""``) or an agency."""

    # The @event decorator defines these event classes at run time, from the methods below;
    # declared here for the type checker alone (annotations at run time would make
    # eventsourcing turn the aggregate into a dataclass).
    if TYPE_CHECKING:
        class Published(Aggregate.Event):
            agency_id: str
            year: int
            calendar_version: int
            timezone: str
            weekend: list[str]
            working_hours: list[dict[str, str]]
            reception_cutoff: str
            holidays: list[dict[str, str]]
            makeup_working_days: list[dict[str, str]]

    @staticmethod
    def create_id(agency_id: str, year: int, **_: object) -> UUID:
        # One calendar per agency and year: a second creation collides on this id.
        return uuid5(NAMESPACE_URL, f"/motcua/calendars/{scope_name(agency_id)}/{year}")

    @classmethod
    def create(cls, agency_id: str, year: int, content: dict[str, Any]) -> Calendar:
        """A draft of version 1; ``content`` in the clock's plain form (see
        ``motcua.clock.parsing``)."""
        content = {**content, "timezone": content.get("timezone") or DEFAULT_TIMEZONE}
        violations = []
        if agency_id and not is_agency_id(agency_id):
            violations.append(
                FieldViolation(
                    "agency_id",
                    "must be empty (province-wide) or an agency electronic identifier such as 000.00.12.H56",
                )
            )
        try:
            normalized = normalize(year, content)
        except InvalidArgument as e:
            violations.extend(e.violations)
        if violations:
            raise InvalidArgument(*violations)
        return cls(agency_id=agency_id, year=year, **normalized)

    @event("Created")
    def __init__(
        self,
        agency_id: str,
        year: int,
        timezone: str,
        weekend: list[str],
        working_hours: list[dict[str, str]],
        reception_cutoff: str,
        holidays: list[dict[str, str]],
        makeup_working_days: list[dict[str, str]],
    ) -> None:
        self.agency_id = agency_id
        self.year = year
        self.timezone = timezone
        self.weekend = list(weekend)
        self.working_hours = [dict(p) for p in working_hours]
        self.reception_cutoff = reception_cutoff
        self.holidays = {d["date"]: d["name"] for d in holidays}
        self.makeup_working_days = {d["date"]: d["name"] for d in makeup_working_days}
        self.calendar_version = 1
        self.state = DRAFT
        self.published_version = 0
        self.published: dict[str, dict[str, Any]] = {}  # str(calendar version) -> content

    # --- the content -------------------------------------------------------------------

    @property
    def subject(self) -> str:
        return f"calendar {scope_name(self.agency_id)} {self.year}"

    def content(self) -> dict[str, Any]:
        """The current version's content in the plain form, days in date order."""
        return {
            "timezone": self.timezone,
            "weekend": list(self.weekend),
            "working_hours": [dict(p) for p in self.working_hours],
            "reception_cutoff": self.reception_cutoff,
            "holidays": _days(self.holidays),
            "makeup_working_days": _days(self.makeup_working_days),
        }

    def content_of(self, calendar_version: int) -> tuple[dict[str, Any], str]:
        """The content of a version and its state; raises NotFound for a version that never was."""
        if calendar_version in (0, self.calendar_version):
            return self.content(), self.state
        if str(calendar_version) in self.published:
            return self.published[str(calendar_version)], PUBLISHED
        raise NotFound("calendar version", f"{self.id} version {calendar_version}")

    # --- edits ---------------------------------------------------------------------------

    def add_holiday(self, day: str, name: str, calendar_version: int = 0) -> None:
        self.check_editable(calendar_version)
        field = "holiday"
        self._check_day_in_year(day, f"{field}.date", name, f"{field}.name")
        if day in self.makeup_working_days:
            raise InvalidArgument.field(
                f"{field}.date", f"{day} is a make-up working day ({self.makeup_working_days[day]}); remove it first"
            )
        name = name.strip()
        if self.holidays.get(day) != name:
            self._start_version_if_published()
            self._holiday_added(date=day, name=name)

    def remove_holiday(self, day: str, calendar_version: int = 0) -> None:
        self.check_editable(calendar_version)
        if day not in self.holidays:
            raise InvalidArgument.field("date", f"{day} is not a holiday of the {self.subject}")
        self._start_version_if_published()
        self._holiday_removed(date=day)

    def add_makeup_working_day(self, day: str, name: str, calendar_version: int = 0) -> None:
        self.check_editable(calendar_version)
        field = "makeup_working_day"
        self._check_day_in_year(day, f"{field}.date", name, f"{field}.name")
        if day in self.holidays:
            raise InvalidArgument.field(f"{field}.date", f"{day} is a public holiday ({self.holidays[day]})")
        weekday = date.fromisoformat(day).weekday()  # a valid date: checked just above
        if weekday not in _weekday_numbers(self.weekend):
            raise InvalidArgument.field(
                f"{field}.date", f"{day} is a working day already; a make-up working day falls on a weekend day"
            )
        name = name.strip()
        if self.makeup_working_days.get(day) != name:
            self._start_version_if_published()
            self._makeup_working_day_added(date=day, name=name)

    def remove_makeup_working_day(self, day: str, calendar_version: int = 0) -> None:
        self.check_editable(calendar_version)
        if day not in self.makeup_working_days:
            raise InvalidArgument.field("date", f"{day} is not a make-up working day of the {self.subject}")
        self._start_version_if_published()
        self._makeup_working_day_removed(date=day)

    def set_working_hours(
        self, working_hours: list[dict[str, str]], reception_cutoff: str, calendar_version: int = 0
    ) -> None:
        self.check_editable(calendar_version)
        problems: list[Problem] = []
        periods = parse_working_hours(working_hours, problems)
        parse_cutoff(reception_cutoff, () if problems else periods, problems)
        _raise_if(problems)
        hours = [{"start": p["start"], "end": p["end"]} for p in working_hours]
        if (hours, reception_cutoff) != (self.working_hours, self.reception_cutoff):
            self._start_version_if_published()
            self._working_hours_set(working_hours=hours, reception_cutoff=reception_cutoff)

    def set_weekend(self, weekend: list[str], calendar_version: int = 0) -> None:
        self.check_editable(calendar_version)
        problems: list[Problem] = []
        days = parse_weekend(weekend, problems)
        _raise_if(problems)
        stranded = [d for d in sorted(self.makeup_working_days) if date.fromisoformat(d).weekday() not in days]
        if stranded:
            raise InvalidArgument.field(
                "weekend", f"the make-up working day {stranded[0]} would fall on a working day; remove it first"
            )
        names = [name.strip().lower() for name in weekend]
        if sorted(_weekday_numbers(names)) != sorted(_weekday_numbers(self.weekend)):
            self._start_version_if_published()
            self._weekend_set(weekend=names)

    def publish(self) -> None:
        """Puts the current version in force; the event carries the whole calendar."""
        if self.state == PUBLISHED:
            raise CalendarPublishedAlready(f"{self.subject} version {self.calendar_version}", PUBLISHED, "publish")
        self._published(
            agency_id=self.agency_id, year=self.year, calendar_version=self.calendar_version, **self.content()
        )

    # --- events --------------------------------------------------------------------------

    @event("VersionStarted")
    def _version_started(self, calendar_version: int) -> None:
        self.calendar_version = calendar_version
        self.state = DRAFT

    @event("HolidayAdded")
    def _holiday_added(self, date: str, name: str) -> None:
        self.holidays[date] = name

    @event("HolidayRemoved")
    def _holiday_removed(self, date: str) -> None:
        del self.holidays[date]

    @event("MakeupWorkingDayAdded")
    def _makeup_working_day_added(self, date: str, name: str) -> None:
        self.makeup_working_days[date] = name

    @event("MakeupWorkingDayRemoved")
    def _makeup_working_day_removed(self, date: str) -> None:
        del self.makeup_working_days[date]

    @event("WorkingHoursSet")
    def _working_hours_set(self, working_hours: list[dict[str, str]], reception_cutoff: str) -> None:
        self.working_hours = [dict(p) for p in working_hours]
        self.reception_cutoff = reception_cutoff

    @event("WeekendSet")
    def _weekend_set(self, weekend: list[str]) -> None:
        self.weekend = list(weekend)

    @event("Published")
    def _published(self, agency_id: str, year: int, calendar_version: int, timezone: str, weekend: list[str],
                   working_hours: list[dict[str, str]], reception_cutoff: str, holidays: list[dict[str, str]],
                   makeup_working_days: list[dict[str, str]]) -> None:
        self.state = PUBLISHED
        self.published_version = calendar_version
        self.published[str(calendar_version)] = self.content()

    # --- guards --------------------------------------------------------------------------

    def check_editable(self, calendar_version: int) -> None:
        """An edit meant for ``calendar_version`` (0: whichever is current) may go ahead."""
        editable = self.calendar_version if self.state == DRAFT else self.calendar_version + 1
        if calendar_version in (0, editable):
            return
        if 0 < calendar_version <= self.published_version:
            raise CalendarPublishedAlready(f"{self.subject} version {calendar_version}", PUBLISHED, "edit")
        raise InvalidArgument.field(
            "calendar_version",
            f"there is no version {calendar_version} to edit; the version open for edits is {editable}",
        )

    def _start_version_if_published(self) -> None:
        if self.state == PUBLISHED:
            self._version_started(calendar_version=self.calendar_version + 1)

    def _check_day_in_year(self, day: str, date_field: str, name: str, name_field: str) -> None:
        violations = []
        parsed = parse_date(day)
        if parsed is None:
            violations.append(FieldViolation(date_field, f"{day!r} is not a date YYYY-MM-DD"))
        elif parsed.year != self.year:
            violations.append(FieldViolation(date_field, f"{day} is not in the calendar's year {self.year}"))
        violations += [FieldViolation(p.field, p.description) for p in check_name(name, name_field)]
        if violations:
            raise InvalidArgument(*violations)


class CalendarDirectory(Aggregate):
    """The list of every calendar (for ListCalendars): one entry per agency scope and year.

    Saved with each new calendar; calendars are few (agencies × years).
    """

    ID = uuid5(NAMESPACE_URL, "/motcua/calendar-directory")

    @staticmethod
    def create_id(**_: object) -> UUID:
        return CalendarDirectory.ID

    @event("Opened")
    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []

    def add(self, calendar: Calendar) -> None:
        self._listed(calendar_id=calendar.id, agency_id=calendar.agency_id, year=calendar.year)

    @event("Listed")
    def _listed(self, calendar_id: UUID, agency_id: str, year: int) -> None:
        self.entries.append({"calendar_id": calendar_id, "agency_id": agency_id, "year": year})


def normalize(year: int, content: dict[str, Any]) -> dict[str, Any]:
    """The content checked by the clock's rules and in its stored form; raises InvalidArgument
    naming every bad field."""
    try:
        parse_year_calendar({"year": year, **content})
    except InvalidCalendar as e:
        _raise_if(list(e.problems))
    return {
        "timezone": content.get("timezone") or DEFAULT_TIMEZONE,
        "weekend": [name.strip().lower() for name in content.get("weekend", ())],
        "working_hours": [{"start": p["start"], "end": p["end"]} for p in content.get("working_hours", ())],
        "reception_cutoff": content.get("reception_cutoff", ""),
        "holidays": _days({d["date"]: d["name"].strip() for d in content.get("holidays", ())}),
        "makeup_working_days": _days({d["date"]: d["name"].strip() for d in content.get("makeup_working_days", ())}),
    }


def _days(by_date: dict[str, str]) -> list[dict[str, str]]:
    return [{"date": day, "name": by_date[day]} for day in sorted(by_date)]


def _weekday_numbers(names: list[str]) -> set[int]:
    problems: list[Problem] = []
    return set(parse_weekend(names, problems))


def _raise_if(problems: list[Problem]) -> None:
    if problems:
        raise InvalidArgument(*(FieldViolation(p.field, p.description) for p in problems))


class CalendarPublishedAlready(InvalidTransition):
    """A published version never changes: it cannot be edited in place or published again."""


class DuplicateCalendar(AlreadyExists):
    """The agency (or the province) already has a calendar for the year."""

    def __init__(self, agency_id: str, year: int, calendar_id: UUID) -> None:
        super().__init__(
            "calendar", str(calendar_id), field="year",
            description=f"the {scope_name(agency_id)} calendar of {year} already exists ({calendar_id})",
        )
