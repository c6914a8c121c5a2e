"""Which domain events other services see, as integration events (protos/.../events.proto):
the outbox relay's mapper, for procedures and calendars alike."""

from __future__ import annotations

from functools import singledispatch

from google.protobuf.message import Message

from motcua.procedures.v1 import events_pb2

from . import calendar_domain, convert
from .calendar_domain import Calendar
from .content import ProcedureContent
from .domain import PUBLISHED, Procedure
from .views import CalendarView


@singledispatch
def integration_event(event: object) -> Message | None:
    return None  # internal to this service: drafts, the code index, the calendar directory


@integration_event.register
def _(event: Procedure.Published) -> Message:
    content = ProcedureContent.from_dict(event.content)
    return events_pb2.ProcedurePublished(
        procedure_id=str(event.originator_id),
        code=event.code,
        name=content.name,
        agency_id=content.agency_id,
        processing_days=content.processing_time.days,
        version=event.originator_version,
        version_number=event.number,
        effective_from=convert.timestamp(event.timestamp),
        superseded_version_number=event.superseded,
        procedure=convert.procedure(
            event.originator_id, event.code, event.number, content, PUBLISHED, event.originator_version, event.timestamp
        ),
    )


@integration_event.register
def _(event: Procedure.Withdrawn) -> Message:
    return events_pb2.ProcedureWithdrawn(
        procedure_id=str(event.originator_id),
        code=event.code,
        version_number=event.number,
        effective_until=convert.timestamp(event.timestamp),
        version=event.originator_version,
    )


@integration_event.register
def _(event: Calendar.Published) -> Message:
    content = {field: getattr(event, field) for field in calendar_domain.CONTENT_FIELDS}
    view = CalendarView.from_content(
        event.originator_id, event.agency_id, event.year, content,
        calendar_version=event.calendar_version, state=calendar_domain.PUBLISHED,
        published_version=event.calendar_version, version=event.originator_version,
    )
    return events_pb2.CalendarPublished(calendar=convert.calendar_to_proto(view))
