"""The statutory clock of the one-stop shop (pure: no gRPC, Kafka, PostgreSQL or eventsourcing).

Pieces: ``calendar`` (one year's calendar, ``YearCalendar``, and ``WorkingCalendar`` over
several years), ``parsing`` (a year's calendar from plain data, with every problem named
by its field), ``counting`` (due dates and elapsed working time), ``explanation`` (why a
date is the due date).

The counting rule (how "hẹn trả" is computed here)
--------------------------------------------------

It follows the Civil Code's rules on time limits (Bộ luật Dân sự 2015, art. 147–148):
the day of the event is not counted, and a limit counted in days ends when the last day
ends — for work done at an agency, when its working hours end.

1. **The reception day.** A dossier received on a working day *before* the reception
   cut-off (e.g. 15:00; at the cut-off or later is after it) is received that day. One
   received at or after the cut-off, or on a weekend day or a public holiday, is deemed
   received at the start of working hours of the next working day. That day is the
   *reception day*; the clock starts then (or at the reception itself, if later than the
   start of working hours; during a break, at the end of the break).
2. **N working days.** The reception day is never counted. Counting starts the day after
   it: each working day is counted in turn (Monday–Friday, less public holidays, plus
   make-up working days such as Saturday 2026-08-22), and the due time is the end of
   working hours (e.g. 17:00) of the N-th counted day. Received Monday 10:00, 3 days:
   Tuesday, Wednesday, Thursday are counted, due Thursday 17:00; received Monday 16:00
   (after the cut-off): Tuesday is the reception day, due Friday 17:00.
3. **N working hours.** Only time within working hours counts, from the clock's start
   (rule 1): received Monday 10:00 with 4 hours (hours 07:30–11:30, 13:30–17:00): 10:00–11:30
   and 13:30–16:00, due Monday 16:00. The due time is the instant the N-th hour completes.
4. **Pauses** (e.g. while the applicant supplements the dossier) stop the clock. In
   working hours, paused time is not counted. In working days, a day on which the clock is
   paused during any part of its working hours is not counted. A pause outside working
   hours changes nothing, and no pause ever makes a due date earlier.
5. **Elapsed** working time between the reception and a later instant follows the same
   rules: ``elapsed(received, due(received, d)) == d`` in days and in hours.

Working days are defined by each year's calendar as published by the province (or an
agency): a year that has no calendar cannot be counted through (``MissingCalendar``).
"""

from .calendar import MissingCalendar, NamedDay, WorkingCalendar, WorkingPeriod, YearCalendar
from .counting import Deadline, Elapsed, Pause, WorkingDays, WorkingHours, clock_start, due, elapsed
from .explanation import CalendarUsed, DayNote, Explanation, Reason
from .parsing import WEEKDAYS, InvalidCalendar, Problem, parse_year_calendar

__all__ = [
    "WEEKDAYS", "CalendarUsed", "DayNote", "Deadline", "Elapsed", "Explanation", "InvalidCalendar",
    "MissingCalendar", "NamedDay", "Pause", "Problem", "Reason", "WorkingCalendar", "WorkingDays",
    "WorkingHours", "WorkingPeriod", "YearCalendar", "clock_start", "due", "elapsed", "parse_year_calendar",
]
