"""A year's calendar from plain data: the seed parses; every bad field is named, all at once."""

from __future__ import annotations

from datetime import date, time

import pytest

from motcua.clock import InvalidCalendar, WorkingCalendar, parse_year_calendar
from tests.support.calendars import plain_2026, plain_2027


def problems_of(**changes) -> dict[str, str]:
    data = {**plain_2026(), **changes}
    with pytest.raises(InvalidCalendar) as invalid:
        parse_year_calendar(data)
    return {p.field: p.description for p in invalid.value.problems}


def test_the_seed_parses_with_its_vietnamese_names():
    year = parse_year_calendar(plain_2026(), agency_id="000.00.10.H56", version=3)
    assert (year.year, year.agency_id, year.version, year.timezone) == (2026, "000.00.10.H56", 3, "Asia/Ho_Chi_Minh")
    assert year.weekend == {5, 6}
    assert [(p.start, p.end) for p in year.working_hours] == [(time(7, 30), time(11, 30)), (time(13, 30), time(17))]
    assert year.reception_cutoff == time(15)
    assert year.kind_of(date(2026, 4, 27)) == ("holiday", "Giỗ Tổ Hùng Vương (nghỉ bù)")
    assert year.kind_of(date(2026, 8, 22)) == ("makeup_working_day", "Làm bù cho ngày 31/8")
    assert year.kind_of(date(2026, 8, 23)) == ("weekend", "")
    assert year.kind_of(date(2026, 8, 24)) == ("working_day", "")


@pytest.mark.parametrize(
    ("changes", "field", "says"),
    [
        ({"year": 1999}, "year", "between"),
        ({"timezone": "Asia/Hanoi_City"}, "timezone", "unknown time zone"),
        ({"weekend": ["saturday", "sundae"]}, "weekend[1]", "unknown weekday"),
        ({"weekend": ["sunday", "Sunday"]}, "weekend[1]", "twice"),
        (
            {"weekend": ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]},
            "weekend",
            "at least one",
        ),
        ({"working_hours": []}, "working_hours", "at least one"),
        ({"working_hours": [{"start": "07:30", "end": "07:00"}]}, "working_hours[0].end", "after its start"),
        (
            {"working_hours": [{"start": "07:30", "end": "11:30"}, {"start": "11:00", "end": "17:00"}]},
            "working_hours[1].start",
            "overlaps",
        ),
        ({"working_hours": [{"start": "7h30", "end": "11:30"}]}, "working_hours[0].start", "HH:MM"),
        ({"working_hours": [{"start": "07:30", "end": "24:00"}]}, "working_hours[0].end", "HH:MM"),
        ({"reception_cutoff": "12:00"}, "reception_cutoff", "outside the working hours"),
        ({"reception_cutoff": "18:00"}, "reception_cutoff", "outside the working hours"),
        ({"reception_cutoff": "3pm"}, "reception_cutoff", "HH:MM"),
        ({"holidays": [{"date": "2026-02-30", "name": "Tết"}]}, "holidays[0].date", "not a date"),
        ({"holidays": [{"date": "16/02/2026", "name": "Tết"}]}, "holidays[0].date", "not a date"),
        (
            {"holidays": [{"date": "2025-12-31", "name": "Giao thừa"}]},
            "holidays[0].date",
            "not in the calendar's year 2026",
        ),
        (
            {"holidays": [{"date": "2026-09-02", "name": "Quốc khánh"}, {"date": "2026-09-02", "name": "Quốc khánh"}]},
            "holidays[1].date",
            "twice",
        ),
        ({"holidays": [{"date": "2026-09-02", "name": "  "}]}, "holidays[0].name", "blank"),
        (
            {"makeup_working_days": [{"date": "2026-08-24", "name": "Làm bù"}]},
            "makeup_working_days[0].date",
            "working day already",
        ),
        (
            {"makeup_working_days": [{"date": "2027-08-21", "name": "Làm bù"}]},
            "makeup_working_days[0].date",
            "not in the calendar's year",
        ),
        (
            {
                "makeup_working_days": [{"date": "2026-08-22", "name": "Làm bù"}],
                "holidays": [{"date": "2026-08-22", "name": "Nghỉ"}],
            },
            "makeup_working_days[0].date",
            "also a public holiday",
        ),
    ],
)
def test_each_bad_field_is_named(changes, field, says):
    problems = problems_of(**changes)
    assert field in problems, problems
    assert says in problems[field]


def test_every_problem_is_reported_at_once():
    problems = problems_of(weekend=["funday"], reception_cutoff="", holidays=[{"date": "2026-13-01", "name": ""}])
    assert set(problems) == {"weekend[0]", "reception_cutoff", "holidays[0].date", "holidays[0].name"}


def test_a_working_calendar_takes_one_calendar_per_year_in_one_zone():
    years = [parse_year_calendar(plain_2026()), parse_year_calendar(plain_2027())]
    assert [y.year for y in WorkingCalendar(reversed(years)).years] == [2026, 2027]
    with pytest.raises(ValueError):
        WorkingCalendar([years[0], years[0]])
    with pytest.raises(ValueError):
        WorkingCalendar([years[0], parse_year_calendar({**plain_2027(), "timezone": "Asia/Bangkok"})])
    with pytest.raises(ValueError):
        WorkingCalendar([])
