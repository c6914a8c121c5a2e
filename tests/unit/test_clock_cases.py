"""The statutory clock on concrete dates of 2026: Tết, weekends, the make-up Saturday, the
31 August – 2 September holidays, the reception cut-off, pauses and the turn of the year.

Calendar: the 2026 seed (hours 07:30–11:30 and 13:30–17:00, cut-off 15:00).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from motcua.clock import (
    CalendarUsed,
    Elapsed,
    MissingCalendar,
    Pause,
    Reason,
    WorkingDays,
    WorkingHours,
    clock_start,
    due,
    elapsed,
)
from tests.support.calendars import calendar_2026, calendar_2026_2027, vn

CAL = calendar_2026()


@pytest.mark.parametrize(
    ("received", "days", "expected"),
    [
        # Tết 2026 (16–20 February) and the weekends around it.
        (vn(2026, 2, 13, 10), 3, vn(2026, 2, 25, 17)),  # Friday: Mon 23, Tue 24, Wed 25
        (vn(2026, 2, 12, 14, 59), 1, vn(2026, 2, 13, 17)),  # before the cut-off: Friday counts
        (vn(2026, 2, 12, 15), 1, vn(2026, 2, 23, 17)),  # at the cut-off: deemed Friday, then Tết
        (vn(2026, 2, 12, 16), 1, vn(2026, 2, 23, 17)),
        (vn(2026, 2, 17, 9), 2, vn(2026, 2, 25, 17)),  # on a holiday: deemed Monday 23
        # Weekends.
        (vn(2026, 1, 9, 9), 1, vn(2026, 1, 12, 17)),  # Friday + 1 = Monday
        (vn(2026, 1, 10, 10), 1, vn(2026, 1, 13, 17)),  # Saturday: deemed Monday, due Tuesday
        (vn(2026, 1, 11, 23, 59), 1, vn(2026, 1, 13, 17)),  # Sunday night
        (vn(2026, 1, 5, 7), 5, vn(2026, 1, 12, 17)),  # Monday before opening: still Monday's reception
        # The make-up Saturday 22 August.
        (vn(2026, 8, 21, 10), 1, vn(2026, 8, 22, 17)),  # Friday: the make-up Saturday counts
        (vn(2026, 8, 21, 16), 1, vn(2026, 8, 24, 17)),  # after the cut-off: deemed received Saturday
        (vn(2026, 8, 22, 10), 1, vn(2026, 8, 24, 17)),  # received on the make-up Saturday itself
        # 31 August (swapped day off), 1–2 September (National Day).
        (vn(2026, 8, 28, 10), 2, vn(2026, 9, 4, 17)),
        (vn(2026, 8, 27, 10), 2, vn(2026, 9, 3, 17)),
        (vn(2026, 8, 31, 8), 1, vn(2026, 9, 4, 17)),  # on the holiday: deemed Thursday 3
        # New Year's Day.
        (vn(2026, 1, 1, 16), 1, vn(2026, 1, 5, 17)),  # on 1 January: deemed Friday 2, due Monday
    ],
)
def test_due_date_in_working_days(received, days, expected):
    deadline = due(received, WorkingDays(days), CAL)
    assert deadline.due_at == expected
    assert deadline.explanation.counted_days == days


@pytest.mark.parametrize(
    ("received", "hours", "minutes", "expected"),
    [
        (vn(2026, 1, 5, 10), 4, 0, vn(2026, 1, 5, 16)),  # 10:00–11:30 + 13:30–16:00
        (vn(2026, 1, 5, 16), 4, 0, vn(2026, 1, 6, 11, 30)),  # after the cut-off: from Tuesday 07:30
        (vn(2026, 1, 5, 12), 2, 0, vn(2026, 1, 5, 15, 30)),  # during the break: from 13:30
        (vn(2026, 1, 5, 7), 1, 0, vn(2026, 1, 5, 8, 30)),  # before opening: from 07:30
        (vn(2026, 1, 5, 10), 1, 30, vn(2026, 1, 5, 11, 30)),  # ends with the morning, not after the break
        (vn(2026, 2, 13, 14), 8, 0, vn(2026, 2, 23, 14, 30)),  # 3h on Friday, Tết, then 5h on Monday 23
        (vn(2026, 8, 21, 16), 6, 0, vn(2026, 8, 22, 15, 30)),  # counted on the make-up Saturday
    ],
)
def test_due_time_in_working_hours(received, hours, minutes, expected):
    deadline = due(received, WorkingHours.of(hours, minutes), CAL)
    assert deadline.due_at == expected
    assert deadline.explanation.counted_time == timedelta(hours=hours, minutes=minutes)


def test_the_tet_explanation_names_every_skipped_day():
    explanation = due(vn(2026, 2, 12, 16), WorkingDays(2), CAL).explanation
    assert [(d.day.isoformat(), d.reason, d.ordinal, d.name) for d in explanation.days] == [
        ("2026-02-12", Reason.AFTER_CUTOFF, 0, ""),
        ("2026-02-13", Reason.RECEPTION_DAY, 0, ""),
        ("2026-02-14", Reason.WEEKEND, 0, ""),
        ("2026-02-15", Reason.WEEKEND, 0, ""),
        *[(f"2026-02-{day}", Reason.HOLIDAY, 0, "Tết Nguyên đán") for day in range(16, 21)],
        ("2026-02-21", Reason.WEEKEND, 0, ""),
        ("2026-02-22", Reason.WEEKEND, 0, ""),
        ("2026-02-23", Reason.COUNTED, 1, ""),
        ("2026-02-24", Reason.COUNTED, 2, ""),
    ]
    assert explanation.calendars == (CalendarUsed(agency_id="", year=2026, version=1),)
    assert explanation.clock_started_at == vn(2026, 2, 13, 7, 30)
    text = explanation.describe()
    assert "2026-02-16 Mon: public holiday: Tết Nguyên đán" in text
    assert "2026-02-12 Thu: received after the reception cut-off" in text
    assert text.endswith("due 2026-02-24 17:00")


def test_a_make_up_saturday_is_counted_and_says_so():
    explanation = due(vn(2026, 8, 20, 10), WorkingDays(2), CAL).explanation
    saturday = explanation.days[-1]
    assert (saturday.day.isoformat(), saturday.reason, saturday.ordinal) == ("2026-08-22", Reason.COUNTED, 2)
    assert saturday.makeup and saturday.name == "Làm bù cho ngày 31/8"
    assert "make-up working day: Làm bù cho ngày 31/8" in saturday.describe()


def test_a_pause_skips_the_days_it_touches_and_only_those():
    received = vn(2026, 3, 2, 10)  # Monday
    supplement = Pause(vn(2026, 3, 4, 9), vn(2026, 3, 6, 8), reason="yêu cầu bổ sung")  # Wed 09:00 – Fri 08:00
    deadline = due(received, WorkingDays(3), CAL, [supplement])
    assert deadline.due_at == vn(2026, 3, 10, 17)  # Tue 3, (Wed, Thu, Fri paused), Mon 9, Tue 10
    assert deadline.explanation.skipped(Reason.PAUSED) == [vn(2026, 3, d).date() for d in (4, 5, 6)]
    overnight = Pause(vn(2026, 3, 3, 18), vn(2026, 3, 4, 7))  # outside working hours
    assert due(received, WorkingDays(3), CAL, [overnight]).due_at == vn(2026, 3, 5, 17)


def test_a_pause_stops_working_hours():
    received = vn(2026, 1, 5, 10)
    pause = Pause(vn(2026, 1, 5, 11), vn(2026, 1, 5, 14))  # 30 min of the morning, 30 min of the afternoon
    deadline = due(received, WorkingHours.of(4), CAL, [pause])
    assert deadline.due_at == vn(2026, 1, 5, 17)
    (monday,) = deadline.explanation.days
    assert (monday.working_time, monday.paused_time) == (timedelta(hours=4), timedelta(hours=1))


def test_elapsed_working_time_and_days():
    received = vn(2026, 1, 5, 10)  # Monday
    assert elapsed(received, vn(2026, 1, 7, 12), CAL) == Elapsed(
        working_days=1, working_time=timedelta(hours=16, minutes=30)
    )
    assert elapsed(received, vn(2026, 1, 5, 9), CAL) == Elapsed(0, timedelta(0))  # before the reception
    after_cutoff = vn(2026, 1, 5, 16)
    assert elapsed(after_cutoff, vn(2026, 1, 5, 17), CAL) == Elapsed(0, timedelta(0))  # the clock starts Tuesday
    pause = Pause(vn(2026, 1, 6, 7), vn(2026, 1, 6, 12))
    assert elapsed(received, vn(2026, 1, 7, 12), CAL, [pause]) == Elapsed(0, timedelta(hours=12, minutes=30))


def test_counting_across_the_year_needs_next_years_calendar():
    received = vn(2026, 12, 31, 10)
    with pytest.raises(MissingCalendar) as missing:
        due(received, WorkingDays(2), CAL)
    assert missing.value.year == 2027
    deadline = due(received, WorkingDays(2), calendar_2026_2027())
    assert deadline.due_at == vn(2027, 1, 5, 17)  # 1 January is a holiday; the weekend; Mon 4, Tue 5
    assert [c.year for c in deadline.explanation.calendars] == [2026, 2027]


def test_the_clock_starts_at_reception_or_at_the_next_opening():
    assert clock_start(vn(2026, 1, 5, 10), CAL) == vn(2026, 1, 5, 10)
    assert clock_start(vn(2026, 1, 5, 12), CAL) == vn(2026, 1, 5, 13, 30)
    assert clock_start(vn(2026, 1, 5, 15), CAL) == vn(2026, 1, 6, 7, 30)
    assert clock_start(vn(2026, 4, 29, 15, 30), CAL) == vn(2026, 5, 4, 7, 30)  # 30 April, 1 May, weekend


def test_durations_and_pauses_refuse_nonsense():
    with pytest.raises(ValueError):
        WorkingDays(0)
    with pytest.raises(ValueError):
        WorkingHours(0)
    with pytest.raises(ValueError):
        Pause(vn(2026, 1, 5, 10), vn(2026, 1, 5, 10))
    with pytest.raises(ValueError):
        due(vn(2026, 1, 5, 10).replace(tzinfo=None), WorkingDays(1), CAL)
