"""Why a date is the due date: every day from the reception to the due date, and what it counted.

An officer or an auditor asks "why is this the due date?": the answer lists the calendar
versions used, then each day with the reason it was counted or skipped (weekend, a named
holiday, the reception day, after the cut-off, paused), make-up working days included.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import Enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .counting import Pause, WorkingDays, WorkingHours


class Reason(str, Enum):
    """Why a day counted or not."""

    COUNTED = "counted"  # a working day (or working time) that counts towards the duration
    RECEPTION_DAY = "reception_day"  # the (deemed) day of reception: never counted in working days
    AFTER_CUTOFF = "after_cutoff"  # received at or after the cut-off: counts from the next working day
    WEEKEND = "weekend"
    HOLIDAY = "holiday"
    PAUSED = "paused"  # the clock was stopped during the day's working hours


@dataclass(frozen=True)
class DayNote:
    """One calendar day between the reception and the due date."""

    day: date
    reason: Reason
    ordinal: int = 0  # the n-th counted working day (working-day durations), else 0
    working_time: timedelta = timedelta(0)  # working time counted on the day (working-hour durations)
    paused_time: timedelta = timedelta(0)  # working time the clock was stopped
    name: str = ""  # the holiday's name, or the make-up working day's
    makeup: bool = False  # a make-up working day (e.g. a Saturday worked instead of a holiday)
    calendar_version: int = 0

    def describe(self) -> str:
        text = f"{self.day.isoformat()} {self.day.strftime('%a')}: "
        match self.reason:
            case Reason.COUNTED:
                what = f"working day {self.ordinal}" if self.ordinal else f"{_hours(self.working_time)} counted"
                text += what + (f" (make-up working day: {self.name})" if self.makeup else "")
            case Reason.RECEPTION_DAY:
                text += "day of reception, not counted"
            case Reason.AFTER_CUTOFF:
                text += "received after the reception cut-off: counts from the next working day"
            case Reason.WEEKEND:
                text += "weekend"
            case Reason.HOLIDAY:
                text += f"public holiday: {self.name}"
            case Reason.PAUSED:
                text += "clock paused"
        if self.reason is not Reason.PAUSED and self.paused_time:
            text += f", {_hours(self.paused_time)} paused"
        return text


@dataclass(frozen=True)
class CalendarUsed:
    """A yearly calendar the computation read."""

    agency_id: str  # "" for the province-wide calendar
    year: int
    version: int


@dataclass(frozen=True)
class Explanation:
    received_at: datetime
    clock_started_at: datetime  # the reception, or the start of working hours it is deemed at
    due_at: datetime
    duration: WorkingDays | WorkingHours
    calendars: tuple[CalendarUsed, ...]
    days: tuple[DayNote, ...]
    pauses: tuple[Pause, ...] = ()

    @property
    def counted_days(self) -> int:
        return sum(1 for d in self.days if d.ordinal)

    @property
    def counted_time(self) -> timedelta:
        return sum((d.working_time for d in self.days), timedelta(0))

    def skipped(self, reason: Reason) -> list[date]:
        return [d.day for d in self.days if d.reason is reason]

    def describe(self) -> str:
        """The explanation as text (English; holiday names as the calendar gives them)."""
        zone = self.due_at.tzinfo
        used = ", ".join(f"{c.agency_id or 'province'} {c.year} v{c.version}" for c in self.calendars)
        lines = [
            f"received {self.received_at.astimezone(zone):%Y-%m-%d %H:%M}, clock started "
            f"{self.clock_started_at:%Y-%m-%d %H:%M}, {self.duration.describe()}",
            f"calendars: {used}",
            *(f"  {d.describe()}" for d in self.days),
            f"due {self.due_at:%Y-%m-%d %H:%M}",
        ]
        return "\n".join(lines)


def _hours(amount: timedelta) -> str:
    minutes = int(amount.total_seconds() // 60)
    return f"{minutes // 60}h{minutes % 60:02d}"
