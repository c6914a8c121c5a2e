"""gRPC servicer of the calendars: translates between protos and the calendar book, nothing more."""

from __future__ import annotations

from uuid import UUID

from google.type import dayofweek_pb2

from motcua.clock import WEEKDAYS
from motcua.procedures.v1 import calendar_pb2, calendar_service_pb2 as pb, calendar_service_pb2_grpc

from . import calendar_domain
from .calendar_application import CalendarBook, CalendarView

_STATES = {
    calendar_domain.DRAFT: calendar_pb2.CALENDAR_STATE_DRAFT,
    calendar_domain.PUBLISHED: calendar_pb2.CALENDAR_STATE_PUBLISHED,
}


def weekday_names(days) -> list[str]:
    """google.type.DayOfWeek values (MONDAY = 1) as the clock's names; protovalidate has
    already refused undefined and unspecified values."""
    return [WEEKDAYS[day - 1] for day in days]


def weekday_values(names) -> list[int]:
    return [dayofweek_pb2.DayOfWeek.Value(name.upper()) for name in names]


def days_of(items) -> list[dict[str, str]]:
    return [{"date": d.date, "name": d.name} for d in items]


def periods_of(items) -> list[dict[str, str]]:
    return [{"start": p.start, "end": p.end} for p in items]


def calendar_to_proto(view: CalendarView) -> calendar_pb2.Calendar:
    return calendar_pb2.Calendar(
        calendar_id=str(view.calendar_id),
        agency_id=view.agency_id,
        year=view.year,
        timezone=view.timezone,
        weekend=weekday_values(view.weekend),
        working_hours=[calendar_pb2.WorkingPeriod(**p) for p in view.working_hours],
        reception_cutoff=view.reception_cutoff,
        holidays=[calendar_pb2.CalendarDay(**d) for d in view.holidays],
        makeup_working_days=[calendar_pb2.CalendarDay(**d) for d in view.makeup_working_days],
        calendar_version=view.calendar_version,
        state=_STATES[view.state],
        published_version=view.published_version,
        version=view.version,
    )


class CalendarServicer(calendar_service_pb2_grpc.CalendarServiceServicer):
    def __init__(self, book: CalendarBook) -> None:
        self.book = book

    def CreateCalendar(self, request: pb.CreateCalendarRequest, context) -> pb.CreateCalendarResponse:
        content = {
            "timezone": request.timezone,
            "weekend": weekday_names(request.weekend),
            "working_hours": periods_of(request.working_hours),
            "reception_cutoff": request.reception_cutoff,
            "holidays": days_of(request.holidays),
            "makeup_working_days": days_of(request.makeup_working_days),
        }
        view = self.book.create_calendar(request.agency_id, request.year, content, request.seed_public_holidays)
        return pb.CreateCalendarResponse(calendar=calendar_to_proto(view))

    def GetCalendar(self, request: pb.GetCalendarRequest, context) -> pb.GetCalendarResponse:
        view = self.book.get_calendar(UUID(request.calendar_id), request.calendar_version)
        return pb.GetCalendarResponse(calendar=calendar_to_proto(view))

    def ListCalendars(self, request: pb.ListCalendarsRequest, context) -> pb.ListCalendarsResponse:
        page = self.book.list_calendars(request.agency_id, request.province_wide, request.year, request.page_size, request.page_token)
        return pb.ListCalendarsResponse(calendars=[calendar_to_proto(v) for v in page.calendars], next_page_token=page.next_page_token)

    def AddHoliday(self, request: pb.AddHolidayRequest, context) -> pb.AddHolidayResponse:
        view = self.book.add_holiday(UUID(request.calendar_id), request.holiday.date, request.holiday.name, *_versions(request))
        return pb.AddHolidayResponse(calendar=calendar_to_proto(view))

    def RemoveHoliday(self, request: pb.RemoveHolidayRequest, context) -> pb.RemoveHolidayResponse:
        view = self.book.remove_holiday(UUID(request.calendar_id), request.date, *_versions(request))
        return pb.RemoveHolidayResponse(calendar=calendar_to_proto(view))

    def AddMakeupWorkingDay(self, request: pb.AddMakeupWorkingDayRequest, context) -> pb.AddMakeupWorkingDayResponse:
        day = request.makeup_working_day
        view = self.book.add_makeup_working_day(UUID(request.calendar_id), day.date, day.name, *_versions(request))
        return pb.AddMakeupWorkingDayResponse(calendar=calendar_to_proto(view))

    def RemoveMakeupWorkingDay(self, request: pb.RemoveMakeupWorkingDayRequest, context) -> pb.RemoveMakeupWorkingDayResponse:
        view = self.book.remove_makeup_working_day(UUID(request.calendar_id), request.date, *_versions(request))
        return pb.RemoveMakeupWorkingDayResponse(calendar=calendar_to_proto(view))

    def SetWorkingHours(self, request: pb.SetWorkingHoursRequest, context) -> pb.SetWorkingHoursResponse:
        view = self.book.set_working_hours(
            UUID(request.calendar_id), periods_of(request.working_hours), request.reception_cutoff, *_versions(request)
        )
        return pb.SetWorkingHoursResponse(calendar=calendar_to_proto(view))

    def SetWeekend(self, request: pb.SetWeekendRequest, context) -> pb.SetWeekendResponse:
        view = self.book.set_weekend(UUID(request.calendar_id), weekday_names(request.weekend), *_versions(request))
        return pb.SetWeekendResponse(calendar=calendar_to_proto(view))

    def PublishCalendar(self, request: pb.PublishCalendarRequest, context) -> pb.PublishCalendarResponse:
        view = self.book.publish_calendar(UUID(request.calendar_id), request.expected_version)
        return pb.PublishCalendarResponse(calendar=calendar_to_proto(view))


def _versions(request) -> tuple[int, int]:
    return request.expected_version, request.calendar_version
