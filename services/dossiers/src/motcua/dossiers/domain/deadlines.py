"""A dossier's deadlines, counted by the statutory clock (``motcua.clock``). Pure.

The clock does the date arithmetic; this module only says what to count: the pinned
duration from the moment the clock (re)started, less the pauses, on the agency's
calendar; each step's due time from its share of the working time up to the due date;
and when a dossier comes due (the start of working hours on its due day).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Any

from motcua.clock import (
    Explanation,
    Pause,
    WorkingCalendar,
    WorkingDays,
    WorkingHours,
    WorkingPeriod,
    YearCalendar,
    due,
    elapsed,
)
from motcua.dossiers.domain.terms import WORKING_HOURS, Terms

# Counting on a year for which no calendar reached this service: Monday–Friday, the usual
# hours and cut-off, no holidays. Recorded as calendar version 0, so an explanation says so.
DEFAULT_HOURS = (WorkingPeriod(time(7, 30), time(11, 30)), WorkingPeriod(time(13, 30), time(17, 0)))
DEFAULT_CUTOFF = time(15, 0)
YEARS_AHEAD = 2  # a deadline reaches at most this many years past the year the clock started


def default_year(year: int, agency_id: str = "") -> YearCalendar:
    return YearCalendar(year=year, weekend=frozenset({5, 6}), working_hours=DEFAULT_HOURS,
                        reception_cutoff=DEFAULT_CUTOFF, agency_id=agency_id, version=0)


def default_calendar(at: datetime) -> WorkingCalendar:
    """Default years only (tests of the rules, and deployments before any calendar is published)."""
    year = at.astimezone(default_year(2000).zone).year
    return WorkingCalendar([default_year(y) for y in range(year, year + YEARS_AHEAD + 1)])


@dataclass(frozen=True)
class Count:
    """What the clock says for a dossier, in UTC, ready to be recorded in an event."""

    due_at: datetime
    coming_due_at: datetime
    clock_started_at: datetime
    step_due_at: tuple[datetime, ...]
    calendars: tuple[dict[str, Any], ...]  # the yearly calendars read: agency ("" province), year, version

    def as_event(self) -> dict[str, Any]:
        return {
            "due_at": self.due_at, "coming_due_at": self.coming_due_at, "clock_started_at": self.clock_started_at,
            "step_due_at": list(self.step_due_at), "calendars": [dict(c) for c in self.calendars],
        }


def pauses_of(recorded: Iterable[Mapping[str, Any]]) -> list[Pause]:
    """The closed pauses recorded on a dossier (an open one has no end yet and counts later)."""
    return [
        Pause(p["start"], p["end"], p.get("reason", "")) for p in recorded if p.get("end") and p["end"] > p["start"]
    ]


def duration(terms: Terms) -> WorkingDays | WorkingHours:
    if terms.processing_unit == WORKING_HOURS:
        return WorkingHours.of(hours=terms.processing_value)
    return WorkingDays(terms.processing_value)


def explain(clock_from: datetime, terms: Terms, calendar: WorkingCalendar, pauses: Iterable[Pause]) -> Explanation:
    return due(clock_from, duration(terms), calendar, pauses).explanation


def count(clock_from: datetime, terms: Terms, calendar: WorkingCalendar, pauses: Iterable[Pause] = ()) -> Count:
    pauses = tuple(pauses)
    deadline = due(clock_from, duration(terms), calendar, pauses)
    due_at = deadline.due_at
    due_day = due_at.date()
    coming_due_at = min(calendar.periods(due_day)[0][0], due_at)
    return Count(
        due_at=_utc(due_at),
        coming_due_at=_utc(coming_due_at),
        clock_started_at=_utc(deadline.explanation.clock_started_at),
        step_due_at=tuple(_utc(t) for t in _step_due(clock_from, terms, calendar, pauses, due_at)),
        calendars=tuple(
            {"agency_id": c.agency_id, "year": c.year, "version": c.version} for c in deadline.explanation.calendars
        ),
    )


def _step_due(
    clock_from: datetime, terms: Terms, calendar: WorkingCalendar, pauses: tuple[Pause, ...], due_at: datetime
) -> list[datetime]:
    """Each step is due when its cumulative share of the working time up to the due date has
    elapsed; the last one at the due date itself."""
    total_share = sum(s.share for s in terms.steps)
    if not terms.steps:
        return []
    working = elapsed(clock_from, due_at, calendar, pauses).working_time
    minutes = working.total_seconds() / 60
    times, cumulative = [], 0.0
    for i, step in enumerate(terms.steps):
        cumulative += step.share / total_share if total_share else 1 / len(terms.steps)
        if i == len(terms.steps) - 1 or minutes < 1:
            times.append(due_at)
            continue
        times.append(
            min(due(clock_from, WorkingHours(max(1, round(cumulative * minutes))), calendar, pauses).due_at, due_at)
        )
    return times


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)
