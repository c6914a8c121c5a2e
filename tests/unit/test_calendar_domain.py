"""The Calendar aggregate's rules, without any infrastructure: versions, edits, publication."""

from __future__ import annotations

import pytest

from motcua.kernel.errors import InvalidArgument, NotFound
from motcua.procedures.calendar_domain import DRAFT, PUBLISHED, Calendar, CalendarPublishedAlready
from tests.support.calendars import plain_2026


def content(**changes) -> dict:
    data = {**plain_2026(), **changes}
    data.pop("year")
    return data


def published_calendar() -> Calendar:
    calendar = Calendar.create("", 2026, content())
    calendar.publish()
    return calendar


def event_names(calendar: Calendar) -> list[str]:
    return [type(e).__name__ for e in calendar.collect_events()]


def test_one_id_per_agency_scope_and_year():
    assert Calendar.create_id("", 2026) == Calendar.create("", 2026, content()).id
    assert Calendar.create_id("", 2026) != Calendar.create_id("", 2027)
    assert Calendar.create_id("", 2026) != Calendar.create_id("000.00.10.H56", 2026)


def test_an_edit_after_publishing_starts_the_next_version_and_the_published_one_stays():
    calendar = published_calendar()
    calendar.collect_events()
    calendar.add_holiday("2026-11-24", "Ngày Văn hóa Việt Nam")
    assert event_names(calendar) == ["VersionStarted", "HolidayAdded"]
    assert (calendar.calendar_version, calendar.state, calendar.published_version) == (2, DRAFT, 1)
    calendar.remove_holiday("2026-01-01")  # a second edit stays in version 2
    assert event_names(calendar) == ["HolidayRemoved"]
    first, state = calendar.content_of(1)
    assert state == PUBLISHED
    assert {"date": "2026-01-01", "name": "Tết Dương lịch"} in first["holidays"]
    assert "2026-11-24" not in {d["date"] for d in first["holidays"]}
    calendar.publish()
    assert (calendar.calendar_version, calendar.state, calendar.published_version) == (2, PUBLISHED, 2)
    with pytest.raises(NotFound):
        calendar.content_of(3)


def test_a_published_version_is_never_edited_in_place_nor_published_twice():
    calendar = published_calendar()
    with pytest.raises(CalendarPublishedAlready, match="version 1"):
        calendar.add_holiday("2026-11-24", "Ngày Văn hóa Việt Nam", calendar_version=1)
    with pytest.raises(CalendarPublishedAlready):
        calendar.publish()
    with pytest.raises(InvalidArgument) as unknown:
        calendar.set_weekend(["sunday"], calendar_version=5)
    assert [v.field for v in unknown.value.violations] == ["calendar_version"]
    calendar.add_holiday("2026-11-24", "Ngày Văn hóa Việt Nam", calendar_version=2)  # the next version: fine


def test_an_edit_that_changes_nothing_records_nothing():
    calendar = published_calendar()
    calendar.collect_events()
    calendar.add_holiday("2026-09-02", "Quốc khánh")
    calendar.set_working_hours([{"start": "07:30", "end": "11:30"}, {"start": "13:30", "end": "17:00"}], "15:00")
    calendar.set_weekend(["sunday", "saturday"])
    assert event_names(calendar) == []
    assert calendar.state == PUBLISHED


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda c: c.add_holiday("2026-02-30", "Tết"), "holiday.date"),
        (lambda c: c.add_holiday("2027-01-01", "Tết Dương lịch"), "holiday.date"),
        (lambda c: c.add_holiday("2026-08-22", "Nghỉ"), "holiday.date"),  # a make-up day
        (lambda c: c.add_holiday("2026-11-24", " "), "holiday.name"),
        (lambda c: c.remove_holiday("2026-03-03"), "date"),
        (lambda c: c.add_makeup_working_day("2026-08-24", "Làm bù"), "makeup_working_day.date"),  # a Monday
        (lambda c: c.add_makeup_working_day("2026-02-16", "Làm bù"), "makeup_working_day.date"),  # a holiday
        (lambda c: c.remove_makeup_working_day("2026-08-29"), "date"),
        (
            lambda c: c.set_working_hours(
                [{"start": "13:30", "end": "17:00"}, {"start": "07:30", "end": "11:30"}], "15:00"
            ),
            "working_hours[1].start",
        ),
        (lambda c: c.set_working_hours([{"start": "07:30", "end": "07:30"}], "07:30"), "working_hours[0].end"),
        (lambda c: c.set_working_hours([{"start": "07:30", "end": "11:30"}], "15:00"), "reception_cutoff"),
        (lambda c: c.set_weekend(["saturday", "caturday"]), "weekend[1]"),
        (lambda c: c.set_weekend(["sunday"]), "weekend"),  # 22 August would be a working Saturday
    ],
)
def test_bad_edits_name_their_field_and_change_nothing(edit, field):
    calendar = published_calendar()
    calendar.collect_events()
    with pytest.raises(InvalidArgument) as error:
        edit(calendar)
    assert field in [v.field for v in error.value.violations]
    assert event_names(calendar) == []
    assert (calendar.calendar_version, calendar.state) == (1, PUBLISHED)


def test_creation_names_every_bad_field():
    with pytest.raises(InvalidArgument) as error:
        Calendar.create(
            "Sở Tư pháp", 2026, content(reception_cutoff="12:00", holidays=[{"date": "2025-01-01", "name": "Tết"}])
        )
    assert {v.field for v in error.value.violations} == {"agency_id", "reception_cutoff", "holidays[0].date"}


def test_the_published_event_carries_the_whole_calendar():
    calendar = Calendar.create("000.00.10.H56", 2026, content(timezone=""))
    calendar.publish()
    published = calendar.collect_events()[-1]
    assert (published.agency_id, published.year, published.calendar_version) == ("000.00.10.H56", 2026, 1)
    assert published.timezone == "Asia/Ho_Chi_Minh"
    assert published.makeup_working_days == [{"date": "2026-08-22", "name": "Làm bù cho ngày 31/8"}]
    assert len(published.holidays) == 12 and published.weekend == ["saturday", "sunday"]
