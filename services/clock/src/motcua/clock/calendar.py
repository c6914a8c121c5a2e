"""Working-day calendars: one year's (``YearCalendar``) and several years' (``WorkingCalendar``).

Values only: they are built valid by ``parsing.parse_year_calendar`` (or directly, by
code that already holds checked values) and never change.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from functools import cached_property
from zoneinfo import ZoneInfo

# What the calendar says a day is.
WORKING_DAY = "working_day"
MAKEUP_WORKING_DAY = "makeup_working_day"
WEEKEND = "weekend"
HOLIDAY = "holiday"

PROVINCE = ""  # the agency scope of province-wide calendars


@dataclass(frozen=True)
class NamedDay:
    """A public holiday or a make-up working day: its date and its (Vietnamese) name."""

    day: date
    name: str


@dataclass(frozen=True)
class WorkingPeriod:
    """A stretch of working hours within a day, local wall-clock times, start < end."""

    start: time
    end: time


@dataclass(frozen=True)
class YearCalendar:
    """The calendar of one year for one agency scope (``""``: the whole province), as published.

    ``weekend`` holds ``date.weekday()`` numbers (0 Monday … 6 Sunday). A holiday is never
    a working day; a make-up working day is a working day although it falls on a weekend day.
    """

    year: int
    weekend: frozenset[int]
    working_hours: tuple[WorkingPeriod, ...]
    reception_cutoff: time
    holidays: tuple[NamedDay, ...] = ()
    makeup_working_days: tuple[NamedDay, ...] = ()
    timezone: str = "Asia/Ho_Chi_Minh"
    agency_id: str = PROVINCE
    version: int = 1

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @cached_property
    def _holidays(self) -> dict[date, str]:
        return {h.day: h.name for h in self.holidays}

    @cached_property
    def _makeup_days(self) -> dict[date, str]:
        return {m.day: m.name for m in self.makeup_working_days}

    def kind_of(self, day: date) -> tuple[str, str]:
        """What the day is (``WORKING_DAY``, ``MAKEUP_WORKING_DAY``, ``WEEKEND``, ``HOLIDAY``) and
        its name."""
        if day.year != self.year:
            raise ValueError(f"{day} is not in {self.year}")
        if day in self._holidays:
            return HOLIDAY, self._holidays[day]
        if day in self._makeup_days:
            return MAKEUP_WORKING_DAY, self._makeup_days[day]
        if day.weekday() in self.weekend:
            return WEEKEND, ""
        return WORKING_DAY, ""


class MissingCalendar(LookupError):
    """Counting needs a year for which no calendar was given (not published yet)."""

    def __init__(self, year: int) -> None:
        self.year = year
        super().__init__(f"no working-day calendar for {year}")


@dataclass(frozen=True)
class WorkingCalendar:
    """Working days and hours over the years of the given yearly calendars (one per year,
    all in one time zone)."""

    years: tuple[YearCalendar, ...]
    _by_year: dict[int, YearCalendar] = field(init=False, repr=False, compare=False)

    def __init__(self, years: Iterable[YearCalendar]) -> None:
        ordered = tuple(sorted(years, key=lambda y: y.year))
        if not ordered:
            raise ValueError("a working calendar needs at least one year")
        by_year = {y.year: y for y in ordered}
        if len(by_year) != len(ordered):
            raise ValueError("one calendar per year")
        if len({y.timezone for y in ordered}) != 1:
            raise ValueError("the yearly calendars must share one time zone")
        object.__setattr__(self, "years", ordered)
        object.__setattr__(self, "_by_year", by_year)

    @property
    def zone(self) -> ZoneInfo:
        return self.years[0].zone

    def year(self, year: int) -> YearCalendar:
        try:
            return self._by_year[year]
        except KeyError:
            raise MissingCalendar(year) from None

    def kind_of(self, day: date) -> tuple[str, str]:
        return self.year(day.year).kind_of(day)

    def is_working_day(self, day: date) -> bool:
        return self.kind_of(day)[0] in (WORKING_DAY, MAKEUP_WORKING_DAY)

    def periods(self, day: date) -> list[tuple[datetime, datetime]]:
        """The day's working periods as aware local datetimes (any day: weekends have hours too,
        they are simply not working days)."""
        calendar = self.year(day.year)
        return [
            (datetime.combine(day, p.start, tzinfo=self.zone), datetime.combine(day, p.end, tzinfo=self.zone))
            for p in calendar.working_hours
        ]

    def cutoff(self, day: date) -> datetime:
        return datetime.combine(day, self.year(day.year).reception_cutoff, tzinfo=self.zone)

    def local(self, moment: datetime) -> datetime:
        if moment.tzinfo is None:
            raise ValueError("moments must be timezone-aware")
        return moment.astimezone(self.zone)
