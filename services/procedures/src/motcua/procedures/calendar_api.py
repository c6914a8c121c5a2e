"""gRPC servicer of the calendars: translates between protos and the calendars application,
nothing more."""

from __future__ import annotations

from uuid import UUID

from motcua.procedures.v1 import calendar_service_pb2 as pb, calendar_service_pb2_grpc

from .calendar_application import CalendarsApplication
from .convert import calendar_to_proto, days_of, periods_of, weekday_names


class CalendarServicer(calendar_service_pb2_grpc.CalendarServiceServicer):
    def __init__(self, calendars: CalendarsApplication) -> None:
        self.calendars = calendars

    def CreateCalendar(self, request: pb.CreateCalendarRequest, context) -> pb.CreateCalendarResponse:
        content = {
            "timezone": request.timezone,
            "weekend": weekday_names(request.weekend),
            "working_hours": periods_of(request.working_hours),
            "reception_cutoff": request.reception_cutoff,
            "holidays": days_of(request.holidays),
            "makeup_working_days": days_of(request.makeup_working_days),
        }
        view = self.calendars.create_calendar(request.agency_id, request.year, content, request.seed_public_holidays)
        return pb.CreateCalendarResponse(calendar=calendar_to_proto(view))

    def GetCalendar(self, request: pb.GetCalendarRequest, context) -> pb.GetCalendarResponse:
        view = self.calendars.get_calendar(UUID(request.calendar_id), request.calendar_version)
        return pb.GetCalendarResponse(calendar=calendar_to_proto(view))

    def ListCalendars(self, request: pb.ListCalendarsRequest, context) -> pb.ListCalendarsResponse:
        page = self.calendars.list_calendars(
            request.agency_id, request.province_wide, request.year, request.page_size, request.page_token
        )
        return pb.ListCalendarsResponse(
            calendars=[calendar_to_proto(v) for v in page.calendars], next_page_token=page.next_page_token
        )

    def AddHoliday(self, request: pb.AddHolidayRequest, context) -> pb.AddHolidayResponse:
        view = self.calendars.add_holiday(
            UUID(request.calendar_id), request.holiday.date, request.holiday.name, *_versions(request)
        )
        return pb.AddHolidayResponse(calendar=calendar_to_proto(view))

    def RemoveHoliday(self, request: pb.RemoveHolidayRequest, context) -> pb.RemoveHolidayResponse:
        view = self.calendars.remove_holiday(UUID(request.calendar_id), request.date, *_versions(request))
        return pb.RemoveHolidayResponse(calendar=calendar_to_proto(view))

    def AddMakeupWorkingDay(self, request: pb.AddMakeupWorkingDayRequest, context) -> pb.AddMakeupWorkingDayResponse:
        day = request.makeup_working_day
        view = self.calendars.add_makeup_working_day(UUID(request.calendar_id), day.date, day.name, *_versions(request))
        return pb.AddMakeupWorkingDayResponse(calendar=calendar_to_proto(view))

    def RemoveMakeupWorkingDay(
        self, request: pb.RemoveMakeupWorkingDayRequest, context
    ) -> pb.RemoveMakeupWorkingDayResponse:
        view = self.calendars.remove_makeup_working_day(UUID(request.calendar_id), request.date, *_versions(request))
        return pb.RemoveMakeupWorkingDayResponse(calendar=calendar_to_proto(view))

    def SetWorkingHours(self, request: pb.SetWorkingHoursRequest, context) -> pb.SetWorkingHoursResponse:
        view = self.calendars.set_working_hours(
            UUID(request.calendar_id), periods_of(request.working_hours), request.reception_cutoff, *_versions(request)
        )
        return pb.SetWorkingHoursResponse(calendar=calendar_to_proto(view))

    def SetWeekend(self, request: pb.SetWeekendRequest, context) -> pb.SetWeekendResponse:
        view = self.calendars.set_weekend(
            UUID(request.calendar_id), weekday_names(request.weekend), *_versions(request)
        )
        return pb.SetWeekendResponse(calendar=calendar_to_proto(view))

    def PublishCalendar(self, request: pb.PublishCalendarRequest, context) -> pb.PublishCalendarResponse:
        view = self.calendars.publish_calendar(UUID(request.calendar_id), request.expected_version)
        return pb.PublishCalendarResponse(calendar=calendar_to_proto(view))


def _versions(request) -> tuple[int, int]:
    return request.expected_version, request.calendar_version
