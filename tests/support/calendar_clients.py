"""gRPC client of the procedures service's CalendarService, built like the stubs of `clients.py`
(its calls carry the session's bearer token unless given another), and calendar requests."""

from __future__ import annotations

from motcua.procedures.v1 import calendar_pb2, calendar_service_pb2 as pb, calendar_service_pb2_grpc
from tests.support.auth import authorized_channel
from tests.support.calendars import plain_2026


def calendars_stub(addr: str, token: str | None = None) -> calendar_service_pb2_grpc.CalendarServiceStub:
    return calendar_service_pb2_grpc.CalendarServiceStub(authorized_channel(addr, token))


def weekday(name: str) -> int:
    from google.type import dayofweek_pb2

    return dayofweek_pb2.DayOfWeek.Value(name.upper())


def create_request(agency_id: str = "", year: int = 2026, **overrides) -> pb.CreateCalendarRequest:
    """The 2026 seed as a CreateCalendarRequest (other years: the same days moved to that year)."""
    plain = plain_2026()
    shift = lambda day: f"{year}{day['date'][4:]}"  # noqa: E731 - only for the dates of the seed
    fields = {
        "agency_id": agency_id,
        "year": year,
        "timezone": plain["timezone"],
        "weekend": [weekday(d) for d in plain["weekend"]],
        "working_hours": [calendar_pb2.WorkingPeriod(**p) for p in plain["working_hours"]],
        "reception_cutoff": plain["reception_cutoff"],
        "holidays": [calendar_pb2.CalendarDay(date=shift(d), name=d["name"]) for d in plain["holidays"]],
        "makeup_working_days": [calendar_pb2.CalendarDay(**d) for d in plain["makeup_working_days"]]
        if year == 2026
        else [],
    }
    fields.update(overrides)
    return pb.CreateCalendarRequest(**fields)
