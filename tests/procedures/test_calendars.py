"""Working-day calendars over real gRPC, PostgreSQL and Kafka: created, corrected and published
in the procedures service, copied by the dossiers service from CalendarPublished."""

from __future__ import annotations

import uuid

import grpc
import pytest
from google.rpc import error_details_pb2

from motcua.dossiers.v1 import dossier_service_pb2 as dpb
from motcua.procedures.v1 import calendar_pb2, calendar_service_pb2 as pb, events_pb2
from tests.support import auth
from tests.support.calendar_clients import calendars_stub, create_request, weekday
from tests.support.clients import details, field_violations
from tests.support.concurrency import run_concurrently
from tests.support.dossiers import fresh_agency
from tests.support.topics import find_envelope
from tests.support.waiting import eventually

DRAFT, PUBLISHED = calendar_pb2.CALENDAR_STATE_DRAFT, calendar_pb2.CALENDAR_STATE_PUBLISHED


@pytest.fixture(scope="module")
def calendars(services):
    return calendars_stub(services[0].addr)


@pytest.fixture(scope="module")
def admin_of(services):
    """The CalendarService as an administrator of the agency: only they edit its calendars."""
    return lambda agency: calendars_stub(services[0].addr, auth.issue(agency_id=agency).access_token)


def failure(call, *args) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as error:
        call(*args)
    return error.value


def replica(dossiers, agency_id: str, year: int, calendar_version: int = 0):
    request = dpb.GetCalendarReplicaRequest(agency_id=agency_id, year=year, calendar_version=calendar_version)
    return dossiers.GetCalendarReplica(request).calendar


def test_a_published_calendar_reaches_kafka_and_the_dossiers_copy_with_its_vietnamese_names(
    stack, calendars, dossiers, admin_of
):
    agency = fresh_agency()
    calendars = admin_of(agency)
    created = calendars.CreateCalendar(create_request(agency)).calendar
    assert (created.state, created.calendar_version, created.published_version, created.version) == (DRAFT, 1, 0, 1)
    assert created.timezone == "Asia/Ho_Chi_Minh"
    assert [(d.date, d.name) for d in created.holidays][:2] == [
        ("2026-01-01", "Tết Dương lịch"),
        ("2026-02-16", "Tết Nguyên đán"),
    ]
    assert calendars.GetCalendar(pb.GetCalendarRequest(calendar_id=created.calendar_id)).calendar == created

    published = calendars.PublishCalendar(
        pb.PublishCalendarRequest(calendar_id=created.calendar_id, expected_version=1)
    ).calendar
    assert (published.state, published.calendar_version, published.published_version) == (PUBLISHED, 1, 1)

    envelope = find_envelope(
        stack.kafka.bootstrap,
        "motcua.procedures.events.v1",
        lambda e: e.type == "motcua.procedures.v1.CalendarPublished" and e.aggregate_id == created.calendar_id,
    )
    event = events_pb2.CalendarPublished()
    envelope.payload.Unpack(event)
    assert event.calendar == published

    copy = eventually(lambda: replica(dossiers, agency, 2026), what="calendar replica in dossiers")
    assert (copy.calendar_id, copy.agency_id, copy.year, copy.calendar_version) == (
        created.calendar_id,
        agency,
        2026,
        1,
    )
    assert list(copy.holidays) == list(published.holidays)
    assert list(copy.makeup_working_days) == [calendar_pb2.CalendarDay(date="2026-08-22", name="Làm bù cho ngày 31/8")]
    assert list(copy.weekend) == [weekday("saturday"), weekday("sunday")]
    assert (list(copy.working_hours), copy.reception_cutoff) == (list(published.working_hours), "15:00")


def test_an_edit_after_publishing_makes_a_new_version_and_the_copy_keeps_both(calendars, dossiers, admin_of):
    agency = fresh_agency()
    calendars = admin_of(agency)
    created = calendars.CreateCalendar(create_request(agency)).calendar
    calendars.PublishCalendar(pb.PublishCalendarRequest(calendar_id=created.calendar_id))
    holiday = calendar_pb2.CalendarDay(date="2026-11-24", name="Ngày Văn hóa Việt Nam")
    edited = calendars.AddHoliday(
        pb.AddHolidayRequest(calendar_id=created.calendar_id, holiday=holiday, expected_version=2)
    ).calendar
    assert (edited.state, edited.calendar_version, edited.published_version, edited.version) == (DRAFT, 2, 1, 4)

    first = calendars.GetCalendar(pb.GetCalendarRequest(calendar_id=created.calendar_id, calendar_version=1)).calendar
    assert first.state == PUBLISHED and holiday not in first.holidays

    second = calendars.PublishCalendar(pb.PublishCalendarRequest(calendar_id=created.calendar_id)).calendar
    assert (second.state, second.calendar_version, second.published_version) == (PUBLISHED, 2, 2)
    copy = eventually(
        lambda: (c := replica(dossiers, agency, 2026)).calendar_version == 2 and c, what="version 2 in dossiers"
    )
    assert holiday in copy.holidays
    assert holiday not in replica(dossiers, agency, 2026, calendar_version=1).holidays


def test_published_versions_never_change(calendars, admin_of):
    agency = fresh_agency()
    calendars = admin_of(agency)
    created = calendars.CreateCalendar(create_request(agency)).calendar
    calendars.PublishCalendar(pb.PublishCalendarRequest(calendar_id=created.calendar_id))

    twice = failure(calendars.PublishCalendar, pb.PublishCalendarRequest(calendar_id=created.calendar_id))
    assert twice.code() == grpc.StatusCode.FAILED_PRECONDITION
    (precondition,) = details(twice, error_details_pb2.PreconditionFailure)
    assert "version 1 is published" in precondition.violations[0].description

    in_place = failure(
        calendars.RemoveHoliday,
        pb.RemoveHolidayRequest(calendar_id=created.calendar_id, date="2026-01-01", calendar_version=1),
    )
    assert in_place.code() == grpc.StatusCode.FAILED_PRECONDITION
    after = calendars.GetCalendar(pb.GetCalendarRequest(calendar_id=created.calendar_id)).calendar
    assert (after.version, after.calendar_version, after.state) == (2, 1, PUBLISHED)


def test_one_calendar_per_agency_and_year_even_when_created_at_once(calendars, admin_of):
    agency = fresh_agency()
    calendars = admin_of(agency)
    outcomes = run_concurrently(4, lambda i: calendars.CreateCalendar(create_request(agency, year=2027)).calendar)
    created = [o for o in outcomes if not isinstance(o, Exception)]
    refused = [o for o in outcomes if isinstance(o, grpc.RpcError)]
    assert len(created) == 1 and len(refused) == 3, outcomes
    for error in refused:
        assert error.code() == grpc.StatusCode.ALREADY_EXISTS
        assert set(field_violations(error)) == {"year"}
        (info,) = details(error, error_details_pb2.ResourceInfo)
        assert info.resource_name == created[0].calendar_id
    listed = calendars.ListCalendars(pb.ListCalendarsRequest(agency_id=agency)).calendars
    assert [c.calendar_id for c in listed] == [created[0].calendar_id]


@pytest.mark.parametrize(
    ("overrides", "fields"),
    [
        ({"holidays": [calendar_pb2.CalendarDay(date="16/02/2026", name="Tết")]}, {"holidays[0].date"}),
        ({"holidays": [calendar_pb2.CalendarDay(date="2026-02-30", name="Tết")]}, {"holidays[0].date"}),
        ({"holidays": [calendar_pb2.CalendarDay(date="2025-12-31", name="Giao thừa")]}, {"holidays[0].date"}),
        (
            {
                "working_hours": [
                    calendar_pb2.WorkingPeriod(start="13:30", end="17:00"),
                    calendar_pb2.WorkingPeriod(start="07:30", end="14:00"),
                ]
            },
            {"working_hours[1].start"},
        ),
        ({"working_hours": [calendar_pb2.WorkingPeriod(start="17:00", end="07:30")]}, {"working_hours[0].end"}),
        ({"reception_cutoff": "12:00"}, {"reception_cutoff"}),
        ({"weekend": [weekday("saturday"), 9]}, {"weekend[1]"}),
        (
            {"makeup_working_days": [calendar_pb2.CalendarDay(date="2026-08-24", name="Làm bù")]},
            {"makeup_working_days[0].date"},
        ),
        ({"agency_id": "Sở Tư pháp", "year": 1999}, {"agency_id", "year"}),
    ],
)
def test_bad_calendars_name_every_bad_field_and_write_nothing(calendars, overrides, fields, admin_of):
    agency = fresh_agency()
    calendars = admin_of(agency)
    error = failure(calendars.CreateCalendar, create_request(**{"agency_id": agency, **overrides}))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert fields <= set(field_violations(error)), field_violations(error)
    assert not calendars.ListCalendars(pb.ListCalendarsRequest(agency_id=agency)).calendars


def test_bad_edits_name_their_field_and_change_nothing(calendars, admin_of):
    agency = fresh_agency()
    calendars = admin_of(agency)
    created = calendars.CreateCalendar(create_request(agency)).calendar
    cid = created.calendar_id
    cases = [
        (
            calendars.AddHoliday,
            pb.AddHolidayRequest(calendar_id=cid, holiday=calendar_pb2.CalendarDay(date="2027-01-01", name="Tết")),
            "holiday.date",
        ),
        (calendars.AddHoliday, pb.AddHolidayRequest(calendar_id=cid), "holiday"),
        (calendars.RemoveHoliday, pb.RemoveHolidayRequest(calendar_id=cid, date="2026-03-03"), "date"),
        (calendars.RemoveHoliday, pb.RemoveHolidayRequest(calendar_id=cid, date="3/3/2026"), "date"),
        (
            calendars.AddMakeupWorkingDay,
            pb.AddMakeupWorkingDayRequest(
                calendar_id=cid, makeup_working_day=calendar_pb2.CalendarDay(date="2026-02-17", name="Làm bù")
            ),
            "makeup_working_day.date",
        ),
        (
            calendars.SetWorkingHours,
            pb.SetWorkingHoursRequest(
                calendar_id=cid,
                working_hours=[calendar_pb2.WorkingPeriod(start="07:30", end="11:30")],
                reception_cutoff="15:00",
            ),
            "reception_cutoff",
        ),
        (calendars.SetWeekend, pb.SetWeekendRequest(calendar_id=cid, weekend=[weekday("sunday")]), "weekend"),
        (calendars.SetWeekend, pb.SetWeekendRequest(calendar_id=cid, weekend=[0]), "weekend[0]"),
        (calendars.PublishCalendar, pb.PublishCalendarRequest(calendar_id="not-a-uuid"), "calendar_id"),
    ]
    for call, request, field in cases:
        error = failure(call, request)
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, (request, error)
        assert field in field_violations(error), (request, field_violations(error))
    assert calendars.GetCalendar(pb.GetCalendarRequest(calendar_id=cid)).calendar == created

    stale = failure(
        calendars.SetWeekend,
        pb.SetWeekendRequest(calendar_id=cid, weekend=[weekday("sunday"), weekday("saturday")], expected_version=7),
    )
    assert stale.code() == grpc.StatusCode.ABORTED
    missing = failure(calendars.GetCalendar, pb.GetCalendarRequest(calendar_id=str(uuid.uuid4())))
    assert missing.code() == grpc.StatusCode.NOT_FOUND


def test_corrections_of_a_draft_stay_in_its_version(calendars, admin_of):
    agency = fresh_agency()
    calendars = admin_of(agency)
    created = calendars.CreateCalendar(create_request(agency)).calendar
    cid = created.calendar_id
    calendars.RemoveMakeupWorkingDay(pb.RemoveMakeupWorkingDayRequest(calendar_id=cid, date="2026-08-22"))
    calendars.RemoveHoliday(pb.RemoveHolidayRequest(calendar_id=cid, date="2026-08-31"))
    calendars.AddMakeupWorkingDay(pb.AddMakeupWorkingDayRequest(
        calendar_id=cid, makeup_working_day=calendar_pb2.CalendarDay(date="2026-05-09", name="Làm bù cho ngày 30/4")))
    hours = [
        calendar_pb2.WorkingPeriod(start="08:00", end="12:00"),
        calendar_pb2.WorkingPeriod(start="13:00", end="17:00"),
    ]
    calendars.SetWorkingHours(pb.SetWorkingHoursRequest(calendar_id=cid, working_hours=hours, reception_cutoff="16:00"))
    final = calendars.SetWeekend(
        pb.SetWeekendRequest(calendar_id=cid, weekend=[weekday("saturday"), weekday("sunday")])
    ).calendar
    assert (final.calendar_version, final.state, final.version) == (
        1,
        DRAFT,
        5,
    )  # the unchanged weekend records nothing
    assert [d.date for d in final.makeup_working_days] == ["2026-05-09"]
    assert "2026-08-31" not in [d.date for d in final.holidays]
    assert (list(final.working_hours), final.reception_cutoff) == (hours, "16:00")


def test_seeding_from_the_public_holidays_of_vietnam(calendars, admin_of):
    explicit = calendar_pb2.CalendarDay(date="2027-01-01", name="Tết Dương lịch (theo quyết định của tỉnh)")
    agency = fresh_agency()
    calendars = admin_of(agency)
    request = create_request(agency, year=2027, holidays=[explicit], seed_public_holidays=True)
    created = calendars.CreateCalendar(request).calendar
    by_date = {d.date: d.name for d in created.holidays}
    assert by_date["2027-01-01"] == explicit.name  # what the caller gives wins
    assert by_date["2027-09-02"] == "Quốc khánh"
    assert any("Tết Nguyên Đán" in name for date, name in by_date.items() if date.startswith("2027-02"))


def test_listing_filters_and_pages(calendars, admin_of):
    agency = fresh_agency()
    calendars = admin_of(agency)
    for year in (2028, 2029, 2030):
        calendars.CreateCalendar(create_request(agency, year=year))
    first = calendars.ListCalendars(pb.ListCalendarsRequest(agency_id=agency, page_size=2))
    assert [c.year for c in first.calendars] == [2028, 2029] and first.next_page_token
    second = calendars.ListCalendars(
        pb.ListCalendarsRequest(agency_id=agency, page_size=2, page_token=first.next_page_token)
    )
    assert [c.year for c in second.calendars] == [2030] and not second.next_page_token
    assert [
        c.agency_id for c in calendars.ListCalendars(pb.ListCalendarsRequest(agency_id=agency, year=2029)).calendars
    ] == [agency]
    assert all(
        c.agency_id == "" for c in calendars.ListCalendars(pb.ListCalendarsRequest(province_wide=True)).calendars
    )

    both = failure(calendars.ListCalendars, pb.ListCalendarsRequest(agency_id=agency, province_wide=True))
    assert both.code() == grpc.StatusCode.INVALID_ARGUMENT
    token = failure(calendars.ListCalendars, pb.ListCalendarsRequest(page_token="bm9wZQ=="))
    assert set(field_violations(token)) == {"page_token"}
    # An offset of one agency's calendars would skip rows of another query's.
    foreign = failure(calendars.ListCalendars, pb.ListCalendarsRequest(year=2029, page_token=first.next_page_token))
    assert foreign.code() == grpc.StatusCode.INVALID_ARGUMENT and set(field_violations(foreign)) == {"page_token"}


def test_an_unknown_replica_is_not_found(dossiers):
    missing = failure(replica, dossiers, fresh_agency(), 2031)
    assert missing.code() == grpc.StatusCode.NOT_FOUND
