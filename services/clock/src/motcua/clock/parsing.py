"""A year's calendar from plain data, every problem named by its field.

The plain form is the one of the API and of the events (field names as in the protos):

    {"year": 2026, "timezone": "Asia/Ho_Chi_Minh", "weekend": ["saturday", "sunday"],
     "working_hours": [{"start": "07:30", "end": "11:30"}, {"start": "13:30", "end": "17:00"}],
     "reception_cutoff": "15:00",
     "holidays": [{"date": "2026-02-17", "name": "Tết Nguyên đán"}, …],
     "makeup_working_days": [{"date": "2026-08-22", "name": "Làm bù cho ngày 31/8"}]}
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .calendar import PROVINCE, NamedDay, WorkingPeriod, YearCalendar

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MIN_YEAR, MAX_YEAR = 2000, 2100
MAX_NAME_LENGTH = 200
MAX_PERIODS = 6
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_TIME = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


@dataclass(frozen=True)
class Problem:
    """One invalid field: its path (as in the API: ``holidays[2].date``) and what is wrong."""

    field: str
    description: str


class InvalidCalendar(ValueError):
    """The data is not a valid year calendar; ``problems`` names every bad field."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(f"{p.field}: {p.description}" for p in self.problems))


def parse_date(text: str) -> date | None:
    if not isinstance(text, str) or not _DATE.match(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def parse_time(text: str) -> time | None:
    if not isinstance(text, str) or not _TIME.match(text):
        return None
    return time.fromisoformat(text)


def check_timezone(name: str) -> list[Problem]:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        return [Problem("timezone", f"unknown time zone {name!r}; use an IANA name such as Asia/Ho_Chi_Minh")]
    return []


def parse_weekend(names: Sequence[str], problems: list[Problem], field: str = "weekend") -> frozenset[int]:
    days: set[int] = set()
    for i, name in enumerate(names):
        key = name.strip().lower() if isinstance(name, str) else ""
        if key not in WEEKDAYS:
            problems.append(Problem(f"{field}[{i}]", f"unknown weekday {name!r}; one of {', '.join(WEEKDAYS)}"))
        elif WEEKDAYS.index(key) in days:
            problems.append(Problem(f"{field}[{i}]", f"{key} is listed twice"))
        else:
            days.add(WEEKDAYS.index(key))
    if len(days) == len(WEEKDAYS):
        problems.append(Problem(field, "a week needs at least one working weekday"))
    return frozenset(days)


def parse_working_hours(
    periods: Sequence[Mapping[str, str]], problems: list[Problem], field: str = "working_hours"
) -> tuple[WorkingPeriod, ...]:
    if not periods:
        problems.append(Problem(field, "at least one period of working hours is required"))
    if len(periods) > MAX_PERIODS:
        problems.append(Problem(field, f"at most {MAX_PERIODS} periods"))
    parsed: list[WorkingPeriod] = []
    for i, period in enumerate(periods):
        start, end = parse_time(period.get("start", "")), parse_time(period.get("end", ""))
        if start is None:
            problems.append(Problem(f"{field}[{i}].start", "must be a time of day HH:MM, e.g. 07:30"))
        if end is None:
            problems.append(Problem(f"{field}[{i}].end", "must be a time of day HH:MM, e.g. 11:30"))
        if start is None or end is None:
            continue
        if end <= start:
            problems.append(Problem(f"{field}[{i}].end", f"must be after its start {start:%H:%M}"))
        elif parsed and start < parsed[-1].end:
            problems.append(
                Problem(
                    f"{field}[{i}].start",
                    f"overlaps or precedes the period before it (until {parsed[-1].end:%H:%M}); list periods in "
                    f"order, without overlaps",
                )
            )
        else:
            parsed.append(WorkingPeriod(start, end))
    return tuple(parsed)


def parse_cutoff(
    text: str, hours: Sequence[WorkingPeriod], problems: list[Problem], field: str = "reception_cutoff"
) -> time:
    cutoff = parse_time(text)
    if cutoff is None:
        problems.append(Problem(field, "must be a time of day HH:MM, e.g. 15:00"))
        return time(0)
    if hours and not any(p.start < cutoff <= p.end for p in hours):
        problems.append(Problem(field, f"{text} is outside the working hours; it must fall within a period of them"))
    return cutoff


def parse_named_days(
    items: Sequence[Mapping[str, str]], year: int, problems: list[Problem], field: str
) -> dict[int, NamedDay]:
    """The valid days by their index in ``items``."""
    days: dict[date, NamedDay] = {}
    by_index: dict[int, NamedDay] = {}
    for i, item in enumerate(items):
        text, name = item.get("date", ""), item.get("name", "")
        day = parse_date(text)
        if day is None:
            problems.append(Problem(f"{field}[{i}].date", f"{text!r} is not a date YYYY-MM-DD"))
        elif day.year != year:
            problems.append(Problem(f"{field}[{i}].date", f"{text} is not in the calendar's year {year}"))
        elif day in days:
            problems.append(Problem(f"{field}[{i}].date", f"{text} is listed twice"))
        problems.extend(check_name(name, f"{field}[{i}].name"))
        if day is not None and day.year == year and day not in days:
            days[day] = by_index[i] = NamedDay(day, name.strip() if isinstance(name, str) else "")
    return by_index


def in_order(days: dict[int, NamedDay]) -> tuple[NamedDay, ...]:
    return tuple(sorted(days.values(), key=lambda d: d.day))


def check_name(name: str, field: str) -> list[Problem]:
    if not isinstance(name, str) or not name.strip():
        return [Problem(field, "must not be blank")]
    if len(name) > MAX_NAME_LENGTH:
        return [Problem(field, f"must be at most {MAX_NAME_LENGTH} characters")]
    return []


def check_makeup_days(makeup: dict[int, NamedDay], holidays: Iterable[NamedDay], weekend: frozenset[int],
                      problems: list[Problem], field: str = "makeup_working_days") -> None:
    """A make-up working day replaces a weekend day, and is not a holiday."""
    holiday_dates = {h.day for h in holidays}
    for i, day in makeup.items():
        if day.day in holiday_dates:
            problems.append(Problem(f"{field}[{i}].date", f"{day.day} is also a public holiday"))
        elif day.day.weekday() not in weekend:
            problems.append(
                Problem(
                    f"{field}[{i}].date",
                    f"{day.day} ({WEEKDAYS[day.day.weekday()]}) is a working day already; a make-up working day "
                    f"falls on a weekend day",
                )
            )


def parse_year_calendar(data: Mapping[str, Any], *, agency_id: str = PROVINCE, version: int = 1) -> YearCalendar:
    """The calendar the data describes; raises ``InvalidCalendar`` naming every bad field."""
    problems: list[Problem] = []
    year = data.get("year")
    if not isinstance(year, int) or isinstance(year, bool) or not MIN_YEAR <= year <= MAX_YEAR:
        problems.append(Problem("year", f"must be a year between {MIN_YEAR} and {MAX_YEAR}"))
        year = 0
    timezone = data.get("timezone") or "Asia/Ho_Chi_Minh"
    problems.extend(check_timezone(timezone))
    known = len(problems)
    weekend = parse_weekend(data.get("weekend", ()), problems)
    weekend_valid = len(problems) == known
    hours = parse_working_hours(data.get("working_hours", ()), problems)
    cutoff = parse_cutoff(data.get("reception_cutoff", ""), hours, problems)
    holidays = parse_named_days(data.get("holidays", ()), year, problems, "holidays")
    makeup = parse_named_days(data.get("makeup_working_days", ()), year, problems, "makeup_working_days")
    if weekend_valid:  # else every make-up day would look misplaced
        check_makeup_days(makeup, holidays.values(), weekend, problems)
    if problems:
        raise InvalidCalendar(problems)
    return YearCalendar(
        year=year, weekend=weekend, working_hours=hours, reception_cutoff=cutoff, holidays=in_order(holidays),
        makeup_working_days=in_order(makeup), timezone=timezone, agency_id=agency_id, version=version,
    )
