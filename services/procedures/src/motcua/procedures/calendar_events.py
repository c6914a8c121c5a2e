"""Which calendar events other services see, as integration events (protos/.../events.proto)."""

from __future__ import annotations

from functools import singledispatch

from google.protobuf.message import Message

from motcua.procedures.v1 import events_pb2

from . import calendar_domain
from .calendar_api import calendar_to_proto
from .calendar_application import CalendarView
from .calendar_domain import Calendar


@singledispatch
def calendar_integration_event(event: object) -> Message | None:
    return None  # drafts and the directory stay inside this service


@calendar_integration_event.register
def _(event: Calendar.Published) -> Message:
    content = {field: getattr(event, field) for field in calendar_domain.CONTENT_FIELDS}
    view = CalendarView.from_content(
        event.originator_id, event.agency_id, event.year, content,
        calendar_version=event.calendar_version, state=calendar_domain.PUBLISHED,
        published_version=event.calendar_version, version=event.originator_version,
    )
    return events_pb2.CalendarPublished(calendar=calendar_to_proto(view))
