"""The calendar rules of dossiers: working days, the local date, the appointed time, the code."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from motcua.dossiers.domain import add_working_days, appointed_return_time, dossier_code, is_working_day, local_date

MON, TUE, WED, THU, FRI, SAT, SUN = (date(2026, 1, 5) + timedelta(days=i) for i in range(7))
NEXT_MON = MON + timedelta(days=7)


def test_the_week_used_below_starts_on_a_monday():
    assert [d.strftime("%a") for d in (MON, TUE, WED, THU, FRI, SAT, SUN)] == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        (FRI, 1, NEXT_MON),  # Friday + 1 = Monday
        (MON, 1, TUE),
        (THU, 1, FRI),
        (THU, 2, NEXT_MON),
        (SAT, 1, NEXT_MON),  # a weekend start counts from Monday
        (SUN, 1, NEXT_MON),
        (MON, 5, NEXT_MON),  # a full working week
        (FRI, 5, FRI + timedelta(days=7)),
        (WED, 10, WED + timedelta(days=14)),
        (MON, 0, MON),
        (SAT, 0, SAT),
        (date(2026, 12, 31), 1, date(2027, 1, 1)),  # across a year (holidays come with the statutory calendar)
        (date(2028, 2, 25), 3, date(2028, 3, 1)),  # Friday, across 29 February
    ],
)
def test_working_days_skip_weekends(start, days, expected):
    assert add_working_days(start, days) == expected


def test_a_working_day_count_always_ends_on_a_working_day():
    for offset in range(14):
        for days in range(1, 25):
            due = add_working_days(MON + timedelta(days=offset), days)
            assert is_working_day(due)
            between = [MON + timedelta(days=offset + i) for i in range(1, (due - MON).days - offset + 1)]
            assert sum(is_working_day(d) for d in between) == days


def test_negative_days_are_refused():
    with pytest.raises(ValueError):
        add_working_days(MON, -1)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(2026, 1, 4, 16, 59, 59, tzinfo=timezone.utc), date(2026, 1, 4)),  # 23:59:59 in Vietnam
        (datetime(2026, 1, 4, 17, 0, tzinfo=timezone.utc), date(2026, 1, 5)),  # midnight in Vietnam
        (datetime(2026, 1, 5, 8, 0, tzinfo=timezone(timedelta(hours=7))), date(2026, 1, 5)),
    ],
)
def test_the_date_is_the_date_in_vietnam(moment, expected):
    assert local_date(moment) == expected


def test_a_naive_moment_is_refused():
    with pytest.raises(ValueError):
        local_date(datetime(2026, 1, 5, 8, 0))


def test_the_appointment_keeps_the_local_time_of_day_of_the_reception():
    friday_0930 = datetime(2026, 1, 9, 2, 30, tzinfo=timezone.utc)  # Friday 09:30 in Vietnam
    assert appointed_return_time(friday_0930, 1) == datetime(2026, 1, 12, 2, 30, tzinfo=timezone.utc)  # Monday 09:30
    late_friday = datetime(2026, 1, 9, 17, 30, tzinfo=timezone.utc)  # already Saturday 00:30 in Vietnam
    assert appointed_return_time(late_friday, 1) == datetime(2026, 1, 11, 17, 30, tzinfo=timezone.utc)  # Monday 00:30


def test_dossier_code_shape():
    assert dossier_code("000.00.12.H56", date(2026, 1, 5), 1) == "000.00.12.H56-260105-0001"
    assert dossier_code("000.00.12.H56", date(2026, 12, 31), 9999) == "000.00.12.H56-261231-9999"
