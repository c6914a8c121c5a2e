"""Due dates and elapsed working time, by the counting rule in the package's docstring."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TypedDict, Unpack

from .calendar import HOLIDAY, MAKEUP_WORKING_DAY, WEEKEND, WorkingCalendar
from .explanation import CalendarUsed, DayNote, Explanation, Reason

ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class WorkingDays:
    """A duration of N working days (N ≥ 1)."""

    count: int

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ValueError("a duration in working days must be at least 1 day")

    def describe(self) -> str:
        return f"{self.count} working day{'s' if self.count != 1 else ''}"


@dataclass(frozen=True)
class WorkingHours:
    """A duration in working time (at least one minute), counted only within working hours."""

    minutes: int

    def __post_init__(self) -> None:
        if self.minutes < 1:
            raise ValueError("a duration in working hours must be at least 1 minute")

    @classmethod
    def of(cls, hours: int = 0, minutes: int = 0) -> WorkingHours:
        return cls(hours * 60 + minutes)

    @property
    def time(self) -> timedelta:
        return timedelta(minutes=self.minutes)

    def describe(self) -> str:
        return f"{self.minutes // 60}h{self.minutes % 60:02d} of working time"


Duration = WorkingDays | WorkingHours


@dataclass(frozen=True)
class Pause:
    """An interval [start, end) during which the clock stops, e.g. awaiting a supplement."""

    start: datetime
    end: datetime
    reason: str = ""

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("pauses must be timezone-aware")
        if self.end <= self.start:
            raise ValueError("a pause must end after it starts")


@dataclass(frozen=True)
class Deadline:
    due_at: datetime  # local time of the calendar's zone
    explanation: Explanation


@dataclass(frozen=True)
class Elapsed:
    working_days: int  # whole working days counted (rule 2) and over by then
    working_time: timedelta  # working time within working hours, pauses left out


class _Pauses:
    """Pauses merged into disjoint intervals, in order."""

    def __init__(self, pauses: Iterable[Pause]) -> None:
        merged: list[list[datetime]] = []
        for pause in sorted(pauses, key=lambda p: p.start):
            if merged and pause.start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], pause.end)
            else:
                merged.append([pause.start, pause.end])
        self.intervals = [(start, end) for start, end in merged]

    def segments(self, start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime, bool]]:
        """[start, end) cut into consecutive (from, to, paused) pieces."""
        at = start
        for p_start, p_end in self.intervals:
            if p_end <= at or p_start >= end:
                continue
            if p_start > at:
                yield at, p_start, False
            yield max(at, p_start), min(end, p_end), True
            at = min(end, p_end)
        if at < end:
            yield at, end, False

    def overlap(self, start: datetime, end: datetime) -> timedelta:
        return sum((b - a for a, b, paused in self.segments(start, end) if paused), timedelta(0))


@dataclass
class _Start:
    reception_day: date  # the (deemed) day of reception
    at: datetime  # when the clock starts
    notes: list[DayNote]  # the days before the reception day, from the day received


def _start(received_at: datetime, calendar: WorkingCalendar) -> _Start:
    local = calendar.local(received_at)
    day = local.date()
    if calendar.is_working_day(day) and local < calendar.cutoff(day):
        # The cut-off lies within working hours, so some period of the day ends after `local`.
        period_start = next(start for start, end in calendar.periods(day) if end > local)
        return _Start(day, max(local, period_start), [])
    notes = [_note_of(calendar, day, Reason.AFTER_CUTOFF)]
    day += ONE_DAY
    while not calendar.is_working_day(day):
        notes.append(_note_of(calendar, day))
        day += ONE_DAY
    return _Start(day, calendar.periods(day)[0][0], notes)


def clock_start(received_at: datetime, calendar: WorkingCalendar) -> datetime:
    """When the clock starts for a reception at ``received_at`` (rule 1), in local time."""
    return _start(received_at, calendar).at


class _Counted(TypedDict, total=False):
    """What a note says was counted on its day (DayNote's fields of the same names)."""

    ordinal: int
    working_time: timedelta
    paused_time: timedelta


def _note_of(
    calendar: WorkingCalendar, day: date, on_working_day: Reason = Reason.COUNTED, **fields: Unpack[_Counted]
) -> DayNote:
    """The note for a day, its reason from the calendar when it is not a working day."""
    kind, name = calendar.kind_of(day)
    version = calendar.year(day.year).version
    reason = {WEEKEND: Reason.WEEKEND, HOLIDAY: Reason.HOLIDAY}.get(kind, on_working_day)
    makeup = kind == MAKEUP_WORKING_DAY
    return DayNote(day=day, reason=reason, name=name, makeup=makeup, calendar_version=version, **fields)


def _day_is_paused(calendar: WorkingCalendar, day: date, pauses: _Pauses) -> timedelta:
    return sum((pauses.overlap(start, end) for start, end in calendar.periods(day)), timedelta(0))


def due(received_at: datetime, duration: Duration, calendar: WorkingCalendar, pauses: Iterable[Pause] = ()) -> Deadline:
    """The due time of a dossier received at ``received_at``, with its explanation.

    Raises ``MissingCalendar`` when the count runs into a year the calendar lacks.
    """
    pauses = tuple(pauses)
    merged = _Pauses(pauses)
    start = _start(received_at, calendar)
    if isinstance(duration, WorkingDays):
        due_at, days = _count_days(start, duration.count, calendar, merged)
    else:
        due_at, days = _count_time(start, duration.time, calendar, merged)
    used = {(calendar.year(d.day.year).agency_id, d.day.year, d.calendar_version) for d in days}
    explanation = Explanation(
        received_at=received_at,
        clock_started_at=start.at,
        due_at=due_at,
        duration=duration,
        calendars=tuple(CalendarUsed(*u) for u in sorted(used, key=lambda u: u[1])),
        days=tuple(days),
        pauses=pauses,
    )
    return Deadline(due_at, explanation)


def _count_days(
    start: _Start, count: int, calendar: WorkingCalendar, pauses: _Pauses
) -> tuple[datetime, list[DayNote]]:
    notes = [*start.notes, _note_of(calendar, start.reception_day, Reason.RECEPTION_DAY)]
    day, counted = start.reception_day, 0
    while counted < count:
        day += ONE_DAY
        if not calendar.is_working_day(day):
            notes.append(_note_of(calendar, day))
            continue
        paused = _day_is_paused(calendar, day, pauses)
        if paused:
            notes.append(_note_of(calendar, day, Reason.PAUSED, paused_time=paused))
        else:
            counted += 1
            notes.append(_note_of(calendar, day, ordinal=counted))
    return calendar.periods(day)[-1][1], notes


def _count_time(
    start: _Start, amount: timedelta, calendar: WorkingCalendar, pauses: _Pauses
) -> tuple[datetime, list[DayNote]]:
    notes = list(start.notes)
    day, remaining = start.reception_day, amount
    while True:
        if not calendar.is_working_day(day):
            notes.append(_note_of(calendar, day))
            day += ONE_DAY
            continue
        worked = paused = timedelta(0)
        due_at = None
        for period_start, period_end in calendar.periods(day):
            for a, b, is_paused in pauses.segments(max(period_start, start.at), period_end):
                if is_paused:
                    paused += b - a
                elif b - a >= remaining:
                    due_at, worked = a + remaining, worked + remaining
                    break
                else:
                    worked, remaining = worked + (b - a), remaining - (b - a)
            if due_at is not None:
                break
        reason = Reason.COUNTED if worked else Reason.PAUSED
        notes.append(_note_of(calendar, day, reason, working_time=worked, paused_time=paused))
        if due_at is not None:
            return due_at, notes
        day += ONE_DAY


def elapsed(received_at: datetime, until: datetime, calendar: WorkingCalendar, pauses: Iterable[Pause] = ()) -> Elapsed:
    """Working time and whole working days from a reception at ``received_at`` until ``until``,
    pauses left out, by the same rules as ``due``."""
    merged = _Pauses(pauses)
    start = _start(received_at, calendar)
    end = calendar.local(until)
    days, time = 0, timedelta(0)
    day = start.reception_day
    while day <= end.date():
        if calendar.is_working_day(day):
            periods = calendar.periods(day)
            for period_start, period_end in periods:
                a, b = max(period_start, start.at), min(period_end, end)
                if a < b:
                    time += (b - a) - merged.overlap(a, b)
            if day > start.reception_day and periods[-1][1] <= end and not _day_is_paused(calendar, day, merged):
                days += 1
        day += ONE_DAY
    return Elapsed(working_days=days, working_time=time)
